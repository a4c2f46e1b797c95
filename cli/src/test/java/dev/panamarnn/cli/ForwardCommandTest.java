package dev.panamarnn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panamarnn.io.SafeTensors;
import dev.panamarnn.io.SafeTensorsWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code panama-rnn forward} end to end on PyTorch fixtures, and its errors: one line, non-zero exit. */
class ForwardCommandTest {
    @TempDir
    Path dir;

    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    /** Splits a fixture into the weights file and the input file the CLI takes ({@link LayerFiles#split}). */
    private Path[] split(String fixture) throws Exception {
        return LayerFiles.split(dir, fixture);
    }

    @ParameterizedTest
    @ValueSource(strings = {"scalar", "simd", "openblas"})
    void matchesPyTorch(String backend) throws Exception {
        if (backend.equals("openblas") && !dev.panamarnn.openblas.OpenBlas.isAvailable()) return;
        for (String fixture : new String[] {"layer_lstm_l1_bi_len_i7h17t9b3_proj3.safetensors", "layer_gru_l1_bf_i5h7t5b2_prefixed.safetensors", "layer_rnn_relu_l1_bf_h0_i13h5t5b3.safetensors"}) {
            Path[] f = split(fixture);
            Path out = dir.resolve("out.safetensors");
            String mode;
            try (SafeTensors st = SafeTensors.open(f[0])) {
                mode = st.metadata().get("mode").toLowerCase();
            }
            List<String> args = new java.util.ArrayList<>(List.of("forward", "--weights", f[1].toString(), "--input", f[2].toString(),
                    "--output", out.toString(), "--backend", backend, "--mode", mode));
            try (SafeTensors st = SafeTensors.open(f[0])) {
                if (Boolean.parseBoolean(st.metadata().get("batch_first"))) args.add("--batch-first");
                String prefix = st.metadata().get("prefix");
                if (!prefix.isEmpty()) args.addAll(List.of("--prefix", prefix));
            }
            CliRun r = run(args.toArray(String[]::new));
            assertEquals(0, r.code(), r.err());
            assertTrue(r.out().contains("wrote"), r.out());
            try (SafeTensors exp = SafeTensors.open(f[0]); SafeTensors got = SafeTensors.open(out)) {
                for (String n : new String[] {"output", "h_n", "c_n"}) {
                    if (!exp.contains("expected_" + n)) continue;
                    float[] e = exp.toFloatArray("expected_" + n), g = got.toFloatArray(n);
                    assertEquals(e.length, g.length, n);
                    for (int i = 0; i < e.length; i++) {
                        if (Math.abs(e[i] - g[i]) > 1e-5 * Math.max(1, Math.abs(e[i]))) fail(fixture + " " + n + "[" + i + "]: " + e[i] + " vs " + g[i]);
                    }
                }
            }
        }
    }

    @Test
    void errorsAreOneClearLine() throws Exception {
        Path[] f = split("layer_rnn_tanh_l1_bf_h0_i3h17t5b3.safetensors");
        Path out = dir.resolve("o.safetensors");
        String w = f[1].toString(), x = f[2].toString(), o = out.toString();
        expectError("no such file", "forward", "--weights", dir.resolve("nope").toString(), "--input", x, "--output", o);
        expectError("give the mode rnn_tanh or rnn_relu", "forward", "--weights", w, "--input", x, "--output", o);
        expectError("mode must be one of", "forward", "--weights", w, "--input", x, "--output", o, "--mode", "transformer");
        expectError("unknown backend 'gpu'", "forward", "--weights", w, "--input", x, "--output", o, "--mode", "rnn_tanh", "--backend", "gpu");
        expectError("no recurrent layer found", "forward", "--weights", w, "--input", x, "--output", o, "--mode", "rnn_tanh", "--prefix", "enc.");
        expectError("tensors present: [h0, input]", "forward", "--weights", x, "--input", x, "--output", o, "--mode", "rnn_tanh");
        Path bad = dir.resolve("bad.safetensors");
        new SafeTensorsWriter().add("input", new float[2 * 3 * 4], 2, 3, 4).write(bad);
        expectError("input must be (batch, seq_len, input_size=3)", "forward", "--weights", w, "--input", bad.toString(), "--output", o,
                "--mode", "rnn_tanh", "--batch-first");
        new SafeTensorsWriter().add("input", new float[2 * 3 * 3], 2, 3, 3).add("lengths", new long[] {1, 9}, 2).write(bad);
        expectError("lengths[1] must be in 1..3", "forward", "--weights", w, "--input", bad.toString(), "--output", o,
                "--mode", "rnn_tanh", "--batch-first");
        Files.write(dir.resolve("garbage"), new byte[] {1, 2, 3});
        expectError("garbage", "forward", "--weights", dir.resolve("garbage").toString(), "--input", x, "--output", o, "--mode", "rnn_tanh");
        CliRun r = run("forward", "--weights", w);
        assertEquals(2, r.code());
        assertTrue(r.err().contains("Missing required option"), r.err());
        assertFalse(Files.exists(out), "no output written on error");
    }

    /**
     * An input file whose header declares [2^31-1, 1, 1] floats (8 GiB, stored sparsely) of the wrong width
     * is refused from its header, before anything is copied: quickly, and with the shape in the message
     * (it was copied whole first, then refused).
     */
    @Test
    void aHugeInputOfTheWrongShapeIsRefusedBeforeItIsCopied() throws Exception {
        Path[] f = split("layer_gru_l1_bf_i5h7t5b2_prefixed.safetensors");
        Path huge = dir.resolve("huge.safetensors");
        long n = Integer.MAX_VALUE, bytes = n * Float.BYTES;
        String header = "{\"input\":{\"dtype\":\"F32\",\"shape\":[" + n + ",1,1],\"data_offsets\":[0," + bytes + "]}}";
        while (header.length() % 8 != 0) header += " ";
        try (var raf = new java.io.RandomAccessFile(huge.toFile(), "rw")) {
            byte[] h = header.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            raf.write(java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
            raf.write(h);
            raf.setLength(8 + h.length + bytes); // sparse: no data blocks are written
        }
        dev.panamarnn.Faults.reset();
        CliRun r = run("forward", "--weights", f[1].toString(), "--input", huge.toString(), "--output", dir.resolve("o.safetensors").toString(),
                "--prefix", "encoder.rnn.", "--batch-first");
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("input must be") && r.err().contains("2147483647"), r.err());
        assertTrue(dev.panamarnn.Faults.largestAllocation() < (1 << 20), "native memory taken before the refusal: the largest allocation was "
                + dev.panamarnn.Faults.largestAllocation() + " bytes");
        assertFalse(Files.exists(dir.resolve("o.safetensors")));
    }

    /** A forgotten --prefix: the error names the prefix the layer is under. */
    @Test
    void aForgottenPrefixIsSuggested() throws Exception {
        Path[] f = split("layer_gru_l1_bf_i5h7t5b2_prefixed.safetensors");
        CliRun r = run("forward", "--weights", f[1].toString(), "--input", f[2].toString(), "--output", dir.resolve("o.safetensors").toString(),
                "--batch-first");
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("a layer is under the prefix 'encoder.rnn.'"), r.err());
    }

    private static void expectError(String fragment, String... args) {
        CliRun r = run(args);
        assertEquals(1, r.code(), r.out() + r.err());
        List<String> lines = r.err().strip().lines().toList();
        String last = lines.get(lines.size() - 1);
        assertTrue(last.startsWith("panama-rnn: error: ") && last.contains(fragment), r.err());
        assertTrue(lines.stream().allMatch(l -> l.startsWith("panama-rnn: ")), "one line per message, no stack trace: " + r.err());
    }

    @Test
    void infoRuns() {
        CliRun r = run("info", "--size", "64");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Active backend:") && r.out().contains("scalar"), r.out());
    }
}
