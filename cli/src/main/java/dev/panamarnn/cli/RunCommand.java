package dev.panamarnn.cli;

import dev.panamarnn.Backend;
import dev.panamarnn.Text;
import dev.panamarnn.io.DType;
import dev.panamarnn.io.OutputFile;
import dev.panamarnn.io.SafeTensors;
import dev.panamarnn.io.SafeTensorsWriter;
import dev.panamarnn.onnx.OnnxModel;
import dev.panamarnn.onnx.OnnxTensor;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code panama-rnn run}: an ONNX model on tensors from a safetensors file, its outputs into another. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Run an ONNX model (LSTM, GRU, RNN and the plumbing around them): the graph's inputs from a safetensors file,",
            "each tensor named as the graph input it feeds; the graph's outputs written under their names."})
final class RunCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "M.onnx", description = "The ONNX model (external data files are read from its directory).")
    Path model;

    @Option(names = "--input", required = true, paramLabel = "IN.safetensors",
            description = "One tensor per graph input, by its name: F32 for FLOAT inputs, I64 or I32 for integer ones ('panama-rnn info --model' lists them).")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "OUT.safetensors", description = "Receives every graph output under its name.")
    Path output;

    @Option(names = "--explain", description = "Print what was loaded and how each recurrent node runs to standard error.")
    boolean explain;

    @Mixin
    BackendOptions backendOptions;

    @Override
    public Integer call() throws Exception {
        Backend be = backendOptions.resolve();
        Inputs.requireFile("--model", model);
        Inputs.requireFile("--input", input);
        try (OutputFile target = OutputFile.prepare("--output", output, model, input).deleteTemporaryOnExit();
             SafeTensors in = SafeTensors.open(input); OnnxModel m = OnnxModel.load(model, be)) {
            if (explain) System.err.println(m.explain());
            Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
            for (String name : in.names()) {
                OnnxModel.Port port = m.inputs().stream().filter(p -> p.name().equals(name)).findFirst().orElseThrow(() -> new IllegalArgumentException(
                        Inputs.show(input) + ": tensor " + Text.quote(name) + " feeds no graph input; the inputs are " + m.inputs()));
                feeds.put(name, tensor(in, name, port));
            }
            long t0 = System.nanoTime();
            Map<String, OnnxTensor> out = m.run(feeds);
            long nanos = System.nanoTime() - t0;
            SafeTensorsWriter w = new SafeTensorsWriter();
            for (var e : out.entrySet()) {
                OnnxTensor t = e.getValue();
                switch (t.type()) {
                    case FLOAT -> w.add(e.getKey(), t.floats(), t.shape());
                    default -> w.add(e.getKey(), t.longs(), t.shape());
                }
            }
            w.metadata("model", model.getFileName().toString()).metadata("backend", be.name()).write(target);
            PrintWriter pw = spec.commandLine().getOut();
            pw.printf("%s: %d input(s), %d output(s); backend %s; %.3f ms%n", Inputs.show(model.getFileName()), feeds.size(), out.size(), be.name(), nanos / 1e6);
            StringBuilder s = new StringBuilder("wrote ").append(Inputs.show(output)).append(":");
            out.forEach((k, v) -> s.append(' ').append(Text.escape(k, 60)).append(' ').append(v.shapeString()).append(','));
            s.setLength(s.length() - 1);
            pw.println(s);
            pw.flush();
        }
        return 0;
    }

    /** The file's tensor {@code name} as the port's element type: floats as FLOAT, integers as the port's integer type. */
    private OnnxTensor tensor(SafeTensors in, String name, OnnxModel.Port port) {
        DType d = in.info(name).dtype();
        int[] shape = in.info(name).shape();
        OnnxTensor.Type want = port.type();
        if (want == OnnxTensor.Type.FLOAT) {
            if (!d.isFloatingPoint()) throw new IllegalArgumentException(Inputs.show(input) + ": " + Text.quote(name) + " feeds a FLOAT input, the file has " + d);
            return OnnxTensor.ofFloats(in.toFloatArray(name), shape);
        }
        if (d.isFloatingPoint()) throw new IllegalArgumentException(Inputs.show(input) + ": " + Text.quote(name) + " feeds a " + want + " input, the file has " + d);
        long[] v = in.toLongArray(name);
        if (want == OnnxTensor.Type.INT32) {
            int[] i = new int[v.length];
            for (int k = 0; k < v.length; k++) {
                if (v[k] != (int) v[k]) throw new IllegalArgumentException(Inputs.show(input) + ": " + Text.quote(name) + "[" + k + "] = " + v[k] + " does not fit the INT32 input");
                i[k] = (int) v[k];
            }
            return OnnxTensor.ofInts(i, shape);
        }
        return OnnxTensor.ofLongs(v, shape);
    }
}
