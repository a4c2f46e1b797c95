package dev.panamarnn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.nn.LayerSpec;
import dev.panamarnn.nn.Mode;
import dev.panamarnn.nn.RecurrentLayer;
import dev.panamarnn.nn.StateDict;
import java.lang.foreign.Arena;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A bad {@code -Dpanama.rnn.threads} fails each call with a message naming the property, and leaves the
 * layer closable: it was read after the layer's lifecycle was entered and outside the try that leaves it,
 * so the call threw with the lock held and close() then waited forever.
 */
class ParallelismPropertyTest {
    @Test
    void badThreadsPropertyFailsTheCallAndCloseStillReturns() throws Exception {
        String before = System.getProperty(Parallelism.PROPERTY);
        int threadsBefore = Parallelism.threads();
        LayerSpec spec = LayerSpec.of(Mode.GRU, 4, 8);
        Map<String, float[]> w = new HashMap<>();
        Map<String, int[]> s = new HashMap<>();
        w.put("weight_ih_l0", new float[24 * 4]);
        s.put("weight_ih_l0", new int[] {24, 4});
        w.put("weight_hh_l0", new float[24 * 8]);
        s.put("weight_hh_l0", new int[] {24, 8});
        w.put("bias_ih_l0", new float[24]);
        s.put("bias_ih_l0", new int[] {24});
        w.put("bias_hh_l0", new float[24]);
        s.put("bias_hh_l0", new int[] {24});
        RecurrentLayer layer = RecurrentLayer.create(spec, StateDict.of(w, s), "", null);
        try (Arena a = Arena.ofShared()) {
            Tensor x = Tensor.allocate(a, 3, 2, 4);
            for (String bad : new String[] {"3", "0", "two", "\u001b[2J"}) {
                System.setProperty(Parallelism.PROPERTY, bad);
                Parallelism.forgetForTests();
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> layer.forward(a, x));
                assertTrue(e.getMessage().contains("-D" + Parallelism.PROPERTY + " must be 1 or 2"), e.getMessage());
                assertTrue(!e.getMessage().contains("\u001b"), "control characters escaped: " + e.getMessage());
            }
            System.setProperty(Parallelism.PROPERTY, "1");
            Parallelism.forgetForTests();
            assertEquals(1, Parallelism.threads());
            layer.forward(a, x); // the layer is still usable
            FaultSweep.closeWithinASecond("close after calls that failed on the property", layer::close);
        } finally {
            if (before == null) System.clearProperty(Parallelism.PROPERTY);
            else System.setProperty(Parallelism.PROPERTY, before);
            Parallelism.forgetForTests();
            Parallelism.setThreads(threadsBefore);
        }
    }
}
