package dev.panamarnn.cli;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.io.DType;
import dev.panamarnn.io.SafeTensors;
import dev.panamarnn.io.SafeTensorsWriter;
import dev.panamarnn.nn.LayerSpec;
import dev.panamarnn.nn.Mode;
import dev.panamarnn.nn.RecurrentLayer;
import dev.panamarnn.openblas.OpenBlas;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code panama-rnn forward}: one forward pass of a recurrent layer stored as a PyTorch state dict in
 * safetensors, on inputs from another safetensors file; writes {@code output}, {@code h_n} (and
 * {@code c_n}) to a third. Layers, directions, sizes and projection come from the weights.
 */
@Command(name = "forward", mixinStandardHelpOptions = true,
        description = "Run a recurrent layer (PyTorch state_dict in safetensors) on an input file and write output, h_n, c_n.")
final class ForwardCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--weights", required = true, paramLabel = "W.safetensors", description = "Weights with PyTorch names (weight_ih_l0, ...).")
    Path weights;

    @Option(names = "--input", required = true, paramLabel = "IN.safetensors",
            description = "Holds 'input' (F32) and optionally 'h0', 'c0' (F32) and 'lengths' (I64 or I32).")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "OUT.safetensors", description = "Receives 'output', 'h_n' and, for an LSTM, 'c_n'.")
    Path output;

    @Option(names = "--mode", paramLabel = "MODE", description = "lstm | gru | rnn_tanh | rnn_relu: needed only for an Elman RNN (tanh or ReLU cannot be read from weights).")
    String mode;

    @Option(names = "--batch-first", description = "input is (batch, seq_len, input_size); output likewise.")
    boolean batchFirst;

    @Option(names = "--prefix", defaultValue = "", paramLabel = "P", description = "Name prefix of the layer's tensors, e.g. encoder.rnn.")
    String prefix;

    @Option(names = "--backend", paramLabel = "NAME", description = "scalar | simd | openblas (default: the best available).")
    String backend;

    @Option(names = "--threads", paramLabel = "N", description = "OpenBLAS threads.")
    Integer threads;

    @Override
    public Integer call() throws Exception {
        if (threads != null) {
            if (threads < 1) throw new IllegalArgumentException("--threads must be >= 1, got " + threads);
            if (!OpenBlas.isAvailable()) throw new IllegalArgumentException("--threads sets OpenBLAS threads, but OpenBLAS is not available");
            OpenBlas.setThreads(threads);
        }
        Backend be = backend == null ? Backend.defaultBackend() : Backend.get(backend);
        Mode hint = mode == null ? null : Mode.parse(mode);
        requireFile("--weights", weights);
        requireFile("--input", input);
        if (output.toAbsolutePath().getParent() != null && !Files.isDirectory(output.toAbsolutePath().getParent())) {
            throw new IllegalArgumentException("--output: directory " + output.toAbsolutePath().getParent() + " does not exist");
        }
        try (SafeTensors w = SafeTensors.open(weights); SafeTensors in = SafeTensors.open(input); Arena arena = Arena.ofConfined();
             RecurrentLayer layer = RecurrentLayer.load(w.asStateDict(), prefix, hint, batchFirst, be)) {
            for (String n : in.names()) {
                if (!List.of("input", "h0", "c0", "lengths").contains(n)) {
                    throw new IllegalArgumentException(input + ": unexpected tensor '" + n + "' (expected input, h0, c0, lengths)");
                }
            }
            if (!in.contains("input")) throw new IllegalArgumentException(input + ": no tensor 'input'");
            Tensor x = f32(in, "input", arena);
            Tensor h0 = in.contains("h0") ? f32(in, "h0", arena) : null;
            Tensor c0 = in.contains("c0") ? f32(in, "c0", arena) : null;
            int[] lengths = null;
            if (in.contains("lengths")) {
                DType t = in.info("lengths").dtype();
                if (t != DType.I64 && t != DType.I32) throw new IllegalArgumentException(input + ": 'lengths' must be I64 or I32, got " + t);
                long[] l = in.toLongArray("lengths");
                lengths = new int[l.length];
                for (int i = 0; i < l.length; i++) {
                    if (l[i] < 1 || l[i] > Integer.MAX_VALUE) throw new IllegalArgumentException(input + ": lengths[" + i + "] = " + l[i] + " is out of range");
                    lengths[i] = (int) l[i];
                }
            }
            long t0 = System.nanoTime();
            RecurrentLayer.Result r = layer.forward(arena, x, h0, c0, lengths);
            long nanos = System.nanoTime() - t0;
            SafeTensorsWriter out = new SafeTensorsWriter().add("output", r.output()).add("h_n", r.hN());
            if (r.cN() != null) out.add("c_n", r.cN());
            LayerSpec s = layer.spec();
            out.metadata("mode", s.mode().name()).metadata("backend", be.name()).write(output);
            PrintWriter pw = spec.commandLine().getOut();
            pw.printf("%s: %s, %d layer(s), %s, input %d, hidden %d%s; input %s%s; backend %s; %.3f ms%n", weights.getFileName(), s.mode(),
                    s.numLayers(), s.bidirectional() ? "bidirectional" : "unidirectional", s.inputSize(), s.hiddenSize(),
                    s.projSize() > 0 ? ", proj " + s.projSize() : "", x.shapeString(), lengths != null ? " with lengths" : "", be.name(), nanos / 1e6);
            pw.printf("wrote %s: output %s, h_n %s%s%n", output, r.output().shapeString(), r.hN().shapeString(),
                    r.cN() != null ? ", c_n " + r.cN().shapeString() : "");
            pw.flush();
        }
        return 0;
    }

    private Tensor f32(SafeTensors st, String name, Arena arena) {
        DType t = st.info(name).dtype();
        if (t != DType.F32) throw new IllegalArgumentException(input + ": '" + name + "' must be F32, got " + t);
        return st.toTensor(name, arena);
    }

    private static void requireFile(String option, Path p) {
        if (!Files.isRegularFile(p)) throw new IllegalArgumentException(option + ": no such file: " + p);
    }
}
