/**
 * ONNX models in: {@link dev.panamarnn.onnx.OnnxModel} reads an {@code .onnx} file (protobuf, decoded by
 * protobuf-java) holding ONNX's {@code LSTM}, {@code GRU} or {@code RNN} operators and the plumbing and heads
 * exporters put around them, and runs it: the recurrent nodes on the library's layers where their attributes
 * are PyTorch's, on a general path otherwise. Values are {@link dev.panamarnn.onnx.OnnxTensor}s on the heap;
 * a file outside the supported set is an {@link dev.panamarnn.onnx.OnnxException} naming the node.
 */
package dev.panamarnn.onnx;
