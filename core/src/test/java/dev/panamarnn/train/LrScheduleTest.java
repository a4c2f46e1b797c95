package dev.panamarnn.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The schedules' rates equal PyTorch 1.13's {@code StepLR(step_size=3, gamma=0.5)} and
 * {@code CosineAnnealingLR(T_max=10, eta_min=0.001)} from lr 0.1 over 11 steps (the values below were printed
 * by PyTorch: {@code optimizer.param_groups[0]['lr']} before each {@code scheduler.step()}); PyTorch's cosine is
 * recursive, ours the closed form, equal within 1e-12.
 */
class LrScheduleTest {
    private static final double[] STEP = {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125};
    private static final double[] COSINE = {0.1, 0.09757729755661011, 0.0905463412215599, 0.07959536998847742, 0.0657963412215599, 0.0505,
        0.03520365877844011, 0.02140463001152259, 0.010453658778440109, 0.0034227024433899004, 0.001};

    @Test
    void ratesEqualPyTorchs() {
        LrSchedule step = LrSchedule.step(0.1, 3, 0.5), cosine = LrSchedule.cosine(0.1, 10, 0.001);
        for (int i = 0; i < STEP.length; i++) {
            assertEquals(STEP[i], step.rate(i), 1e-12, "StepLR at step " + i);
            assertEquals(COSINE[i], cosine.rate(i), 1e-12, "CosineAnnealingLR at step " + i);
        }
        assertEquals(0.02, LrSchedule.constant(0.02).rate(1000));
    }

    @Test
    void correctCountsArgmaxHitsAndSkipsIgnoredRows() throws Exception {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            dev.panamarnn.Tensor logits = dev.panamarnn.Tensor.of(arena, new float[] {1, 3, 2, 5, 5, 0, 0, 1, 9}, 3, 3);
            // row 0 argmax 1 (right), row 1 a tie → the first (0, right), row 2 ignored
            assertEquals(2, new CrossEntropyLoss(7, true).correct(logits, new int[] {1, 0, 7}));
            assertEquals(1, new CrossEntropyLoss(7, true).correct(logits, new int[] {0, 1, 2})); // only row 2
        }
    }
}
