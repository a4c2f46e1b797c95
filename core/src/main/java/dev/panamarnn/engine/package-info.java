/**
 * The engine behind {@link dev.panamarnn.nn}: packed weights, scratch memory, the recurrent step and the
 * runners that drive it. Internal: not exported by the module, and no type of it is in the public API.
 *
 * <ul>
 *   <li>{@link dev.panamarnn.engine.Weights}: a layer's weights, packed once into native memory, with
 *       the hidden units cut into partitions;</li>
 *   <li>{@link dev.panamarnn.engine.CellStep}: the one place the per-step cell arithmetic is written
 *       (the product {@code h·W_hhᵀ}, GRU's {@code b_hn}, the fused gate kernels), for any range of
 *       partitions;</li>
 *   <li>{@link dev.panamarnn.engine.SequenceRun}: a forward pass over a whole sequence, layers,
 *       directions and steps in order; {@link dev.panamarnn.engine.CellRun}: one step of a cell;
 *       {@link dev.panamarnn.engine.Batching}: steps shared by concurrent callers;</li>
 *   <li>{@link dev.panamarnn.engine.StepParts}: how a step's parts are shared between threads, used by
 *       the two-thread forward ({@link dev.panamarnn.engine.Helper}) and by the batching engine;</li>
 *   <li>{@link dev.panamarnn.engine.Scratch}, {@link dev.panamarnn.engine.Resources} and
 *       {@link dev.panamarnn.engine.Lifecycle}: memory reused from call to call, and close waiting for
 *       calls.</li>
 * </ul>
 *
 * <p>Depends on {@code dev.panamarnn} (tensors, arenas) and the kernels, never on {@code nn}.
 */
package dev.panamarnn.engine;
