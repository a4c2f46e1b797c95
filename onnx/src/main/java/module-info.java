/**
 * ONNX models in: {@link dev.panamarnn.onnx.OnnxModel} loads an {@code .onnx} file whose recurrent nodes
 * (ONNX's {@code LSTM}, {@code GRU}, {@code RNN}) run on panama-rnn's layers. The protobuf classes generated
 * from the part of ONNX's schema it reads ({@code dev.panamarnn.onnx.proto}) are not exported.
 */
@SuppressWarnings("requires-automatic") // protobuf-java names its module in its manifest only
module dev.panamarnn.onnx {
    requires transitive dev.panamarnn.core;
    requires com.google.protobuf;

    exports dev.panamarnn.onnx;
    // protobuf-java reaches the generated messages reflectively (their field accessors).
    opens dev.panamarnn.onnx.proto to com.google.protobuf;
}
