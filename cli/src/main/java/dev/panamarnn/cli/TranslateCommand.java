package dev.panamarnn.cli;

import dev.panamarnn.app.ModelConfig;
import dev.panamarnn.app.Seq2Seq;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code panama-rnn translate}: N-vs-M with a user's seq2seq model directory. */
@Command(name = "translate", mixinStandardHelpOptions = true,
        description = "Translate texts with a seq2seq model directory (model.json + weights.safetensors or ONNX graphs): greedy (batched) or beam search. "
                + "Prints one line per input: the input, a tab, the translation.")
final class TranslateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = Apps.MODEL_DIR)
    Path model;

    @Parameters(paramLabel = "TEXT", arity = "0..*", description = "Texts to translate.")
    List<String> texts;

    @Option(names = "--file", paramLabel = "F", description = "Read texts from F, one per line ('-' for standard input); UTF-8, at most 16 MiB.")
    String file;

    @Option(names = "--beam", defaultValue = "1", paramLabel = "W", description = "Beam width (1 = greedy, the default).")
    int beam;

    @Option(names = "--max", paramLabel = "N", description = "Most output tokens (default: the model's max_output_length).")
    Integer max;

    @Mixin
    BackendOptions backend;

    @Override
    public Integer call() throws Exception {
        if (beam < 1 || beam > MAX_BEAM) throw new IllegalArgumentException("--beam must be in 1.." + MAX_BEAM + ", got " + beam);
        if (max != null && (max < 1 || max > ModelConfig.MAX_OUTPUT_LENGTH)) {
            throw new IllegalArgumentException("--max must be in 1.." + ModelConfig.MAX_OUTPUT_LENGTH + ", got " + max);
        }
        List<String> in = new ArrayList<>(texts == null ? List.of() : texts);
        if (file != null) in.addAll(Inputs.readLines("--file", file, System.in)); // at most 16 MiB, strict UTF-8
        if (in.isEmpty()) throw new IllegalArgumentException("nothing to translate: give texts or --file");
        PrintWriter out = spec.commandLine().getOut();
        try (Seq2Seq m = Apps.seq2seq(model, backend.resolve())) {
            int n = max != null ? max : m.maxOutputLength();
            int[][] src = new int[in.size()][];
            int longest = 0;
            for (int i = 0; i < src.length; i++) {
                src[i] = Inputs.encode(m.sourceVocabulary(), "input " + (i + 1), in.get(i));
                if (src[i].length == 0) throw new IllegalArgumentException("input " + (i + 1) + " is empty");
                longest = Math.max(longest, src[i].length);
            }
            checkBudget(beam == 1 ? src.length : beam, Math.max(n, beam == 1 ? longest : 0));
            int[][] res;
            if (beam == 1) {
                res = m.greedy(src, n);
            } else {
                res = new int[src.length][];
                for (int i = 0; i < src.length; i++) res[i] = m.beamSearch(src[i], beam, n).tokens();
            }
            for (int i = 0; i < res.length; i++) out.println(dev.panamarnn.Text.escape(in.get(i), Integer.MAX_VALUE) + "\t" + dev.panamarnn.Text.escape(m.targetVocabulary().decode(res[i]), Integer.MAX_VALUE));
            out.flush();
        }
        return 0;
    }

    /** The widest beam: the library's limit. */
    static final int MAX_BEAM = 1024;

    /**
     * Greedy translation holds every text at the length of the longest, and its output at --max; a beam
     * holds --beam hypotheses of --max tokens (twice). At most {@link Inputs#MAX_TOKENS} tokens (64 MiB of
     * ids) each way, so that a request the machine cannot hold is an error naming the options, not an
     * OutOfMemoryError after loading.
     */
    private void checkBudget(long rows, int length) {
        if (rows * length > Inputs.MAX_TOKENS) {
            String what = beam == 1 ? rows + " texts × " + length + " tokens (the longer of --max and the longest text)"
                    : "--beam " + rows + " × --max " + length;
            throw new IllegalArgumentException(what + " = " + rows * length + " tokens to hold; at most " + Inputs.MAX_TOKENS
                    + (beam == 1 ? " (translate fewer texts at once, or lower --max)" : " (lower --beam or --max)"));
        }
    }
}
