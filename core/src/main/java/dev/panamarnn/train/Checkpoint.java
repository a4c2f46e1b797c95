package dev.panamarnn.train;

import dev.panamarnn.io.SafeTensorsWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Saves trained modules as one safetensors file under PyTorch's {@code state_dict} names (F32), which PyTorch's {@code load_state_dict} and this library's loaders read. */
public final class Checkpoint {
    private Checkpoint() {}

    /**
     * Writes every parameter of {@code modules} to {@code file} (atomically replaced).
     *
     * @param file     the file
     * @param metadata the header's {@code __metadata__} (PyTorch writes {@code format: pt})
     * @param modules  the modules
     * @throws IOException if writing fails
     * @throws IllegalArgumentException if two parameters have the same name
     */
    public static void save(Path file, Map<String, String> metadata, List<? extends Trainable> modules) throws IOException {
        SafeTensorsWriter w = new SafeTensorsWriter().metadata(metadata);
        Set<String> seen = new HashSet<>();
        for (Trainable m : modules) {
            for (Param p : m.parameters()) {
                if (!seen.add(p.name())) throw new IllegalArgumentException("two parameters are named " + p.name());
                w.add(p.name(), p.value().toArray(), p.shape());
            }
        }
        w.write(file);
    }
}
