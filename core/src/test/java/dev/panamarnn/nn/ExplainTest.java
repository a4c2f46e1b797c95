package dev.panamarnn.nn;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.Backend;
import dev.panamarnn.Config;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link RecurrentLayer#explain()} says what runs for each step shape, and the layer's own settings. */
class ExplainTest {
    @Test
    void explainNamesTheProductOfEachStepShape() {
        LayerSpec spec = LayerSpec.of(Mode.GRU, 4, 8);
        Map<String, float[]> w = new HashMap<>();
        Map<String, int[]> shapes = spec.stateDictShapes("");
        shapes.forEach((n, s) -> w.put(n, new float[s.length == 1 ? s[0] : s[0] * s[1]]));
        try (RecurrentLayer layer = RecurrentLayer.loader().spec(spec).backend(Backend.get("simd"))
                .config(Config.defaults().withThreadsPerCall(2)).load(StateDict.of(w, shapes))) {
            String e = layer.explain();
            assertTrue(e.contains("backend: simd (requested by name)"), e);
            assertTrue(e.contains("step of 1 sample: simd GEMV"), e);
            assertTrue(e.contains("step of 2-32 samples: simd GEMM"), e);
            assertTrue(e.contains("input projection: simd GEMM"), e);
            assertTrue(e.contains("threads per call: 2 (the layer's own)"), e);
        }
    }
}
