package dev.panamarnn.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.panamarnn.Backend;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Truncated BPTT ({@link TrainableLanguageModel#trainTruncated}): a chunk as long as the sequences is one full
 * BPTT step, bit for bit; shorter chunks see the same forward values (the state is carried exactly), so their
 * losses add up to the full sequence's before any step changes the weights; and truncation changes the
 * gradients (it is not a no-op).
 */
class TbpttTest {
    private static int[][] batch() {
        SplittableRandom r = new SplittableRandom(11);
        int[][] s = new int[3][];
        for (int i = 0; i < 3; i++) {
            s[i] = new int[17 + 3 * i];
            for (int t = 0; t < s[i].length; t++) s[i][t] = 1 + r.nextInt(10);
        }
        return s;
    }

    private static float[] weights(TrainableModel m) {
        int n = 0;
        for (Param p : m.parameters()) n += (int) p.size();
        float[] all = new float[n];
        int o = 0;
        for (Param p : m.parameters()) {
            float[] v = p.value().toArray();
            System.arraycopy(v, 0, all, o, v.length);
            o += v.length;
        }
        return all;
    }

    @Test
    void aChunkAsLongAsTheSequenceIsFullBptt() {
        Backend be = Backend.get("scalar");
        try (TrainableLanguageModel a = TrainableLanguageModel.create(OptimizerFixtureTest.lmConfig(), 5, be);
             TrainableLanguageModel b = TrainableLanguageModel.create(OptimizerFixtureTest.lmConfig(), 5, be)) {
            CrossEntropyLoss ce = new CrossEntropyLoss(0, true);
            Optimizer oa = Adam.of(a.parameters(), 1e-2), ob = Adam.of(b.parameters(), 1e-2);
            a.zeroGrad();
            float la = a.lossAndGradients(batch(), ce);
            GradClip.clipGradNorm(a.parameters(), 1.0);
            oa.step();
            float lb = b.trainTruncated(batch(), 1000, ce, ob, 1.0);
            assertEquals(la, lb, 1e-6f);
            assertArrayEquals(weights(a), weights(b));
        }
    }

    @Test
    void chunksCarryTheStateExactly() {
        Backend be = Backend.get("scalar");
        try (TrainableLanguageModel a = TrainableLanguageModel.create(OptimizerFixtureTest.lmConfig(), 5, be);
             TrainableLanguageModel b = TrainableLanguageModel.create(OptimizerFixtureTest.lmConfig(), 5, be)) {
            CrossEntropyLoss sum = new CrossEntropyLoss(0, false);
            float full = a.lossAndGradients(batch(), sum);
            // learning rate 0: the weights stay, so every chunk's loss is the full forward's loss on its steps
            float chunked = b.trainTruncated(batch(), 5, sum, new Sgd(b.parameters(), 0, 0, 0, 0, false), 0);
            assertEquals(full, chunked, 1e-5f * Math.abs(full));
            // the last chunk's gradients differ from the full gradients: truncation cut the earlier steps off
            float[] gFull = a.parameters().get(1).grad().toArray(), gChunk = b.parameters().get(1).grad().toArray();
            assertNotEquals(java.util.Arrays.toString(gFull), java.util.Arrays.toString(gChunk));
        }
    }
}
