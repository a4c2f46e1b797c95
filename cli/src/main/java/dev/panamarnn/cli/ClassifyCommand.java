package dev.panamarnn.cli;

import dev.panamarnn.Tensor;
import dev.panamarnn.Text;
import dev.panamarnn.app.SequenceClassifier;
import dev.panamarnn.io.DType;
import dev.panamarnn.io.OutputFile;
import dev.panamarnn.io.SafeTensors;
import dev.panamarnn.io.SafeTensorsWriter;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code panama-rnn classify}: N-vs-1 with a user's model directory (model.json + weights.safetensors or ONNX graphs). */
@Command(name = "classify", mixinStandardHelpOptions = true,
        description = "Classify sequences with an n_vs_1 model directory (model.json + weights.safetensors or ONNX graphs): "
                + "feature sequences from --input, or texts for a model with an embedding.")
final class ClassifyCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = Apps.MODEL_DIR)
    Path model;

    @Option(names = "--input", paramLabel = "IN.safetensors",
            description = "Feature sequences: 'input' (or 'inputs') F32 (batch, seq_len, input_size) batch-first, optional 'lengths' (I64 or I32).")
    Path input;

    @Option(names = "--output", paramLabel = "OUT.safetensors", description = "Also write the logits ('logits' F32 (batch, classes)).")
    Path output;

    @Parameters(paramLabel = "TEXT", arity = "0..*", description = "Texts to classify (models with an embedding).")
    List<String> texts;

    @Mixin
    BackendOptions backend;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (input != null) Inputs.requireFile("--input", input);
        // The output is checked (a regular file or none, not an input, in a writable directory) before
        // the model is loaded.
        OutputFile target = output == null ? null
                : OutputFile.prepare("--output", output, input, model.resolve("model.json"), model.resolve("weights.safetensors"), model.resolve("model.onnx")).deleteTemporaryOnExit();
        try (target; SequenceClassifier c = Apps.classifier(model, backend.resolve())) {
            float[][] logits;
            if (c.takesTokens()) {
                if (input != null) throw new IllegalArgumentException("--input: this model reads text (it has an embedding); pass texts");
                if (texts == null || texts.isEmpty()) throw new IllegalArgumentException("no text given: this model classifies texts");
                int[][] tokens = new int[texts.size()][];
                dev.panamarnn.app.Vocabulary v = vocabulary(c);
                for (int i = 0; i < tokens.length; i++) tokens[i] = Inputs.encode(v, "text " + (i + 1), texts.get(i));
                logits = c.logits(tokens);
            } else {
                if (texts != null && !texts.isEmpty()) throw new IllegalArgumentException("this model reads feature sequences (--input), not text");
                if (input == null) throw new IllegalArgumentException("--input is required: this model reads feature sequences of " + c.inputSize() + " values per step");
                logits = fromFile(c);
            }
            int[] pred = SequenceClassifier.argmax(logits);
            for (int i = 0; i < pred.length; i++) {
                float[] p = SequenceClassifier.probabilities(logits[i]);
                out.printf(Locale.ROOT, "%d\t%s\t%.4f%n", i, dev.panamarnn.Text.escape(c.labels().get(pred[i]), 200), p[pred[i]]); // labels come from model.json
            }
            if (output != null) {
                try (Arena a = Arena.ofConfined()) {
                    Tensor t = Tensor.allocate(a, logits.length, c.labels().size());
                    for (int i = 0; i < logits.length; i++) for (int k = 0; k < logits[i].length; k++) t.set(i, k, logits[i][k]);
                    new SafeTensorsWriter().add("logits", t).metadata("labels", String.join(",", c.labels())).write(target);
                }
                out.println("wrote " + Inputs.show(output));
            }
            out.flush();
        }
        return 0;
    }

    private static dev.panamarnn.app.Vocabulary vocabulary(SequenceClassifier c) {
        return new dev.panamarnn.app.Vocabulary(c.config().vocab());
    }

    private float[][] fromFile(SequenceClassifier c) throws Exception {
        try (SafeTensors in = SafeTensors.open(input)) {
            // 'input', as forward reads; 'inputs' (the name the model folders' case files use) is accepted too.
            boolean one = in.contains("input"), many = in.contains("inputs");
            if (one && many) throw new IllegalArgumentException(Inputs.show(input) + ": holds both 'input' and 'inputs'; give one");
            String x = many ? "inputs" : "input";
            for (String n : in.names()) {
                if (!n.equals(x) && !n.equals("lengths")) throw new IllegalArgumentException(Inputs.show(input) + ": unexpected tensor " + Text.quote(n) + " (expected input, lengths)");
            }
            if (!in.contains(x)) throw new IllegalArgumentException(Inputs.show(input) + ": no tensor 'input'");
            if (in.info(x).dtype() != DType.F32) throw new IllegalArgumentException(Inputs.show(input) + ": '" + x + "' must be F32, got " + in.info(x).dtype());
            int[] s = in.info(x).shape();
            if (s.length != 3 || s[2] != c.inputSize() || s[0] < 1 || s[1] < 1) {
                throw new IllegalArgumentException(Inputs.show(input) + ": '" + x + "' must be (batch, seq_len, " + c.inputSize() + "), got " + java.util.Arrays.toString(s));
            }
            float[] v = in.toFloatArray(x);
            long[] len = null;
            if (in.contains("lengths")) {
                DType t = in.info("lengths").dtype();
                if (t != DType.I64 && t != DType.I32) throw new IllegalArgumentException(Inputs.show(input) + ": 'lengths' must be I64 or I32, got " + t);
                len = in.toLongArray("lengths");
                if (len.length != s[0]) throw new IllegalArgumentException(Inputs.show(input) + ": 'lengths' has " + len.length + " entries, '" + x + "' " + s[0] + " sequences");
            }
            float[][][] seqs = new float[s[0]][][];
            for (int b = 0; b < s[0]; b++) {
                long n = len == null ? s[1] : len[b];
                if (n < 1 || n > s[1]) throw new IllegalArgumentException(Inputs.show(input) + ": lengths[" + b + "] = " + n + " must be in 1.." + s[1]);
                seqs[b] = new float[(int) n][s[2]];
                for (int t = 0; t < n; t++) System.arraycopy(v, (b * s[1] + t) * s[2], seqs[b][t], 0, s[2]);
            }
            return c.logits(seqs);
        }
    }
}
