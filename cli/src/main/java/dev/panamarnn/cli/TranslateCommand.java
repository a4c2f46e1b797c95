package dev.panamarnn.cli;

import dev.panamarnn.app.Seq2Seq;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
        description = "Translate texts with a seq2seq model directory (model.json + weights.safetensors): greedy (batched) or beam search. "
                + "Prints one line per input: the input, a tab, the translation.")
final class TranslateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Directory with model.json and weights.safetensors.")
    Path model;

    @Parameters(paramLabel = "TEXT", arity = "0..*", description = "Texts to translate.")
    List<String> texts;

    @Option(names = "--file", paramLabel = "F", description = "Read texts from F, one per line ('-' for standard input).")
    String file;

    @Option(names = "--beam", defaultValue = "1", paramLabel = "W", description = "Beam width (1 = greedy, the default).")
    int beam;

    @Option(names = "--max", paramLabel = "N", description = "Most output tokens (default: the model's max_output_length).")
    Integer max;

    @Mixin
    BackendOptions backend;

    @Override
    public Integer call() throws Exception {
        List<String> in = new ArrayList<>(texts == null ? List.of() : texts);
        if (file != null) {
            BufferedReader r = file.equals("-") ? new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))
                    : Files.newBufferedReader(Path.of(file), StandardCharsets.UTF_8);
            try (r) {
                for (String line; (line = r.readLine()) != null; ) if (!line.isBlank()) in.add(line.strip());
            }
        }
        if (in.isEmpty()) throw new IllegalArgumentException("nothing to translate: give texts or --file");
        if (beam < 1) throw new IllegalArgumentException("--beam must be >= 1, got " + beam);
        PrintWriter out = spec.commandLine().getOut();
        try (Seq2Seq m = Seq2Seq.load(model, backend.resolve())) {
            int n = max != null ? max : m.maxOutputLength();
            int[][] src = new int[in.size()][];
            for (int i = 0; i < src.length; i++) {
                try {
                    src[i] = m.sourceVocabulary().encode(in.get(i));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("input " + (i + 1) + ": " + e.getMessage());
                }
                if (src[i].length == 0) throw new IllegalArgumentException("input " + (i + 1) + " is empty");
            }
            int[][] res;
            if (beam == 1) {
                res = m.greedy(src, n);
            } else {
                res = new int[src.length][];
                for (int i = 0; i < src.length; i++) res[i] = m.beamSearch(src[i], beam, n).tokens();
            }
            for (int i = 0; i < res.length; i++) out.println(in.get(i) + "\t" + m.targetVocabulary().decode(res[i]));
            out.flush();
        }
        return 0;
    }
}
