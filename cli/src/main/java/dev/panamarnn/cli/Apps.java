package dev.panamarnn.cli;

import dev.panamarnn.Backend;
import dev.panamarnn.app.LanguageModel;
import dev.panamarnn.app.Seq2Seq;
import dev.panamarnn.app.SequenceClassifier;
import dev.panamarnn.onnx.OnnxApps;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The application models of a model directory: weights from {@code weights.safetensors}, or from ONNX graphs
 * ({@code model.onnx}, or {@code encoder.onnx} + {@code decoder.onnx}) when the directory has those instead.
 */
final class Apps {
    private Apps() {}

    static final String MODEL_DIR = "Model directory: model.json and weights.safetensors (or model.onnx; encoder.onnx and decoder.onnx for seq2seq).";

    static SequenceClassifier classifier(Path dir, Backend backend) throws IOException {
        return OnnxApps.hasOnnxWeights(dir) ? OnnxApps.classifier(dir, backend) : SequenceClassifier.load(dir, backend);
    }

    static LanguageModel languageModel(Path dir, Backend backend) throws IOException {
        return OnnxApps.hasOnnxWeights(dir) ? OnnxApps.languageModel(dir, backend) : LanguageModel.load(dir, backend);
    }

    static Seq2Seq seq2seq(Path dir, Backend backend) throws IOException {
        return OnnxApps.hasOnnxWeights(dir) ? OnnxApps.seq2seq(dir, backend) : Seq2Seq.load(dir, backend);
    }
}
