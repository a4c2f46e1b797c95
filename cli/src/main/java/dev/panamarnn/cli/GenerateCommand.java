package dev.panamarnn.cli;

import dev.panamarnn.app.Decoding;
import dev.panamarnn.app.LanguageModel;
import dev.panamarnn.app.ModelConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code panama-rnn generate}: 1-vs-N with a user's language model directory. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text with an lm model directory (model.json + weights.safetensors or ONNX graphs): from <bos> and each prompt, "
                + "greedy or sampled, until <eos> or --max tokens. One line per prompt.")
final class GenerateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = Apps.MODEL_DIR)
    Path model;

    @Parameters(paramLabel = "PROMPT", arity = "0..*", description = "Prompts (default: one empty prompt).")
    List<String> prompts;

    @Option(names = "--max", paramLabel = "N", description = "Most tokens to generate (default: the model's max_output_length).")
    Integer max;

    @Option(names = "--temperature", defaultValue = "0", paramLabel = "T", description = "0 = greedy (default); above 0 samples from softmax(logits / T).")
    double temperature;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the sampling (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--samples", defaultValue = "1", paramLabel = "K", description = "Continuations per prompt (with --temperature > 0).")
    int samples;

    @Mixin
    BackendOptions backend;

    @Override
    public Integer call() throws Exception {
        if (samples < 1 || samples > MAX_SEQUENCES) throw new IllegalArgumentException("--samples must be in 1.." + MAX_SEQUENCES + ", got " + samples);
        if (max != null && (max < 1 || max > ModelConfig.MAX_OUTPUT_LENGTH)) {
            throw new IllegalArgumentException("--max must be in 1.." + ModelConfig.MAX_OUTPUT_LENGTH + ", got " + max);
        }
        List<String> ps = prompts == null || prompts.isEmpty() ? List.of("") : prompts;
        long sequences = (long) ps.size() * samples;
        if (sequences > MAX_SEQUENCES) {
            throw new IllegalArgumentException(ps.size() + " prompts × --samples " + samples + " = " + sequences + " sequences; at most " + MAX_SEQUENCES
                    + " are generated at once (give fewer prompts or a lower --samples)");
        }
        if (max != null) checkBudget(sequences, max);
        Decoding d = Decoding.temperature(temperature, seed);
        PrintWriter out = spec.commandLine().getOut();
        try (LanguageModel lm = Apps.languageModel(model, backend.resolve())) {
            int n = max != null ? max : lm.config().maxOutputLength();
            checkBudget(sequences, n);
            int[][] batch = new int[ps.size() * samples][];
            for (int i = 0; i < ps.size(); i++) {
                Inputs.encode(lm.vocabulary(), "prompt " + (i + 1), ps.get(i)); // checked here: an error quotes the prompt escaped and cut
                int[] prompt = lm.prompt(ps.get(i));
                for (int k = 0; k < samples; k++) batch[i * samples + k] = prompt;
            }
            int[][] gen = lm.generate(batch, d, n);
            for (int i = 0; i < gen.length; i++) out.println(dev.panamarnn.Text.escape(ps.get(i / samples) + lm.vocabulary().decode(gen[i]), Integer.MAX_VALUE)); // tokens come from model.json
            out.flush();
        }
        return 0;
    }

    /** The most sequences generated at once (prompts × --samples): their state and logits are held together. */
    static final int MAX_SEQUENCES = 10_000;

    /**
     * The generated tokens are held at full length (--max per sequence) until the end: at most
     * {@link Inputs#MAX_TOKENS} of them (64 MiB), so {@code --samples 10000 --max 65536} (2.6 GB) is an
     * error naming the options, not an OutOfMemoryError after loading.
     */
    private static void checkBudget(long sequences, int max) {
        if (sequences * max > Inputs.MAX_TOKENS) {
            throw new IllegalArgumentException(sequences + " sequences (prompts × --samples) × --max " + max + " = " + sequences * max
                    + " tokens to hold; at most " + Inputs.MAX_TOKENS + " (lower --samples or --max)");
        }
    }
}
