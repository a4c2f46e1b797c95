package dev.panamarnn.cli;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.Text;
import dev.panamarnn.io.DType;
import dev.panamarnn.io.OutputFile;
import dev.panamarnn.io.SafeTensors;
import dev.panamarnn.io.SafeTensorsWriter;
import dev.panamarnn.nn.LayerSpec;
import dev.panamarnn.nn.Mode;
import dev.panamarnn.nn.RecurrentLayer;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
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

    @Option(names = "--explain", description = "Print how the layer computes (backend and why, the product per step shape) to standard error.")
    boolean explain;

    @Mixin
    BackendOptions backendOptions;

    @Override
    public Integer call() throws Exception {
        Backend be = backendOptions.resolve();
        Mode hint = mode == null ? null : Mode.parse(mode);
        Inputs.requireFile("--weights", weights);
        Inputs.requireFile("--input", input);
        // The output is checked (a regular file or none, not an input, in a writable directory) before
        // anything is loaded or computed.
        try (OutputFile target = OutputFile.prepare("--output", output, weights, input).deleteTemporaryOnExit();
             SafeTensors w = SafeTensors.open(weights); SafeTensors in = SafeTensors.open(input); Arena arena = Arena.ofConfined()) {
            // What the input file's header alone can show is checked before the weights are loaded.
            for (String n : in.names()) {
                if (!List.of("input", "h0", "c0", "lengths").contains(n)) {
                    throw new IllegalArgumentException(Inputs.show(input) + ": unexpected tensor " + Text.quote(n) + " (expected input, h0, c0, lengths)");
                }
            }
            if (!in.contains("input")) throw new IllegalArgumentException(Inputs.show(input) + ": no tensor 'input'");
            for (String n : new String[] {"input", "h0", "c0"}) {
                if (in.contains(n) && in.info(n).dtype() != DType.F32) {
                    throw new IllegalArgumentException(Inputs.show(input) + ": '" + n + "' must be F32, got " + in.info(n).dtype());
                }
            }
            if (in.contains("lengths") && in.info("lengths").dtype() != DType.I64 && in.info("lengths").dtype() != DType.I32) {
                throw new IllegalArgumentException(Inputs.show(input) + ": 'lengths' must be I64 or I32, got " + in.info("lengths").dtype());
            }
            run(be, hint, target, w, in, arena);
        }
        return 0;
    }

    private void run(Backend be, Mode hint, OutputFile target, SafeTensors w, SafeTensors in, Arena arena) throws Exception {
        try (RecurrentLayer layer = RecurrentLayer.load(w.asStateDict(), prefix, hint, batchFirst, be)) {
            if (explain) System.err.println(layer.explain());
            // Shapes from the file's header against the layer before any tensor is copied: a wrong shape
            // is refused at once, whatever size the header claims.
            layer.checkShapes(in.info("input").shape(), in.contains("h0") ? in.info("h0").shape() : null,
                    in.contains("c0") ? in.info("c0").shape() : null);
            if (in.contains("lengths")) {
                int[] ls = in.info("lengths").shape();
                int batch = in.info("input").shape()[batchFirst ? 0 : 1];
                if (ls.length != 1 || ls[0] != batch) {
                    throw new IllegalArgumentException(Inputs.show(input) + ": 'lengths' must have shape [" + batch + "] (one per sample), got "
                            + java.util.Arrays.toString(ls));
                }
            }
            Tensor x = in.toTensor("input", arena); // dtypes and shapes checked above, from the header
            Tensor h0 = in.contains("h0") ? in.toTensor("h0", arena) : null;
            Tensor c0 = in.contains("c0") ? in.toTensor("c0", arena) : null;
            int[] lengths = null;
            if (in.contains("lengths")) {
                long[] l = in.toLongArray("lengths");
                lengths = new int[l.length];
                for (int i = 0; i < l.length; i++) {
                    if (l[i] < 1 || l[i] > Integer.MAX_VALUE) throw new IllegalArgumentException(Inputs.show(input) + ": lengths[" + i + "] = " + l[i] + " is out of range");
                    lengths[i] = (int) l[i];
                }
            }
            long t0 = System.nanoTime();
            RecurrentLayer.Result r = layer.forward(arena, x, h0, c0, lengths);
            long nanos = System.nanoTime() - t0;
            SafeTensorsWriter out = new SafeTensorsWriter().add("output", r.output()).add("h_n", r.hN());
            if (r.cN() != null) out.add("c_n", r.cN());
            LayerSpec s = layer.spec();
            out.metadata("mode", s.mode().name()).metadata("backend", be.name()).write(target);
            PrintWriter pw = spec.commandLine().getOut();
            pw.printf("%s: %s, %d layer(s), %s, input %d, hidden %d%s; input %s%s; backend %s; %.3f ms%n", Inputs.show(weights.getFileName()), s.mode(),
                    s.numLayers(), s.bidirectional() ? "bidirectional" : "unidirectional", s.inputSize(), s.hiddenSize(),
                    s.projSize() > 0 ? ", proj " + s.projSize() : "", x.shapeString(), lengths != null ? " with lengths" : "", be.name(), nanos / 1e6);
            pw.printf("wrote %s: output %s, h_n %s%s%n", Inputs.show(output), r.output().shapeString(), r.hN().shapeString(),
                    r.cN() != null ? ", c_n " + r.cN().shapeString() : "");
            pw.flush();
        }
    }
}
