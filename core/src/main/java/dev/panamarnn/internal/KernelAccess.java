package dev.panamarnn.internal;

import dev.panamarnn.Backend;
import dev.panamarnn.kernel.Kernels;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The unchecked kernels behind a {@link Backend}, for the model layer and the benchmarks only. Not API:
 * this package is not exported, so an application on the module path cannot reach them (kernels check
 * nothing, and native code handed a bad leading dimension may crash the JVM; {@code Backend}'s own
 * methods check first).
 *
 * <p>{@code Backend} keeps its kernels in a private field and knows nothing of this class: the field is
 * read through a {@link VarHandle} with the full privilege that {@link MethodHandles#privateLookupIn}
 * grants code of the same module (on the class path, of the same unnamed module). A constant handle, so a
 * read costs what a field read does.
 */
public final class KernelAccess {
    private static final VarHandle KERNELS = kernelsField();

    private KernelAccess() {}

    /**
     * The backend's unchecked kernels.
     *
     * @param backend a backend
     * @return its kernels
     */
    public static Kernels of(Backend backend) {
        return (Kernels) KERNELS.get(backend);
    }

    private static VarHandle kernelsField() {
        try {
            return MethodHandles.privateLookupIn(Backend.class, MethodHandles.lookup()).findVarHandle(Backend.class, "kernels", Kernels.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
