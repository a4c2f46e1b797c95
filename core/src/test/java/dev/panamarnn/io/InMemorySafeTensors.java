package dev.panamarnn.io;

import java.lang.foreign.MemorySegment;

/** Test access to {@link SafeTensors#parse} from other packages: a whole file's bytes, no file system. */
public final class InMemorySafeTensors {
    private InMemorySafeTensors() {}

    /** Validates {@code bytes} as a safetensors file named {@code name} in messages. */
    public static SafeTensors parse(String name, byte[] bytes) throws SafeTensorsException {
        return SafeTensors.parse(name, MemorySegment.ofArray(bytes), null);
    }
}
