package dev.panamarnn.kernel;

import dev.panamarnn.Activation;
import java.lang.foreign.MemorySegment;

/**
 * The cell math of a backend: the activations and the fused LSTM, GRU and Elman cell updates, applied to
 * pre-activations that {@link MatrixProducts} computed. Gate order in the pre-activation rows is that of
 * {@link GateLayout}.
 *
 * <p><b>No argument checking happens here.</b> Implementations trust their caller; the public facade
 * {@code dev.panamarnn.Backend} and the model layer validate shapes, leading dimensions, segment sizes
 * and liveness before calling in. A native implementation handed a bad leading dimension may crash the
 * JVM.
 *
 * <p>Conventions: float32, row-major. Every matrix is a native segment, an offset counted in floats
 * from the segment's start, and a leading dimension (floats between consecutive rows). Implementations
 * are stateless and thread-safe: any number of threads may call one instance at once.
 */
public interface CellMath {

    /**
     * {@code y[i] = 1 / (1 + exp(-x[i]))} for {@code n} contiguous elements; {@code y} may be {@code x}.
     *
     * @param n    the number of elements
     * @param x    the input's memory
     * @param xOff the input's first element, in floats
     * @param y    the output's memory
     * @param yOff the output's first element, in floats
     */
    void sigmoid(int n, MemorySegment x, long xOff, MemorySegment y, long yOff);

    /**
     * {@code y[i] = tanh(x[i])}; {@code y} may be {@code x}.
     *
     * @param n    the number of elements
     * @param x    the input's memory
     * @param xOff the input's first element, in floats
     * @param y    the output's memory
     * @param yOff the output's first element, in floats
     */
    void tanh(int n, MemorySegment x, long xOff, MemorySegment y, long yOff);

    /**
     * {@code y[i] = max(x[i], 0)}; {@code y} may be {@code x}. NaN stays NaN.
     *
     * @param n    the number of elements
     * @param x    the input's memory
     * @param xOff the input's first element, in floats
     * @param y    the output's memory
     * @param yOff the output's first element, in floats
     */
    void relu(int n, MemorySegment x, long xOff, MemorySegment y, long yOff);

    /**
     * One LSTM step for {@code batch} rows. Row {@code b} of {@code gates} ({@code [batch × 4·hidden]})
     * holds the complete pre-activations {@code W_ih·x + b_ih + W_hh·h + b_hh} in the order
     * {@code i, f, g, o}. Then, with {@code c} read and written in place ({@code [batch × hidden]}):
     * <pre>
     *   c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)
     *   h' = σ(o) ⊙ tanh(c')
     * </pre>
     * {@code h'} is written to {@code hOut} ({@code [batch × hidden]}); {@code gates} is not modified.
     *
     * @param batch  the rows (samples)
     * @param hidden the hidden size
     * @param gates  the pre-activations' memory {@code [batch × 4·hidden]}, read only
     * @param gOff   their first element, in floats
     * @param ldg    their leading dimension, in floats
     * @param c      the cell state's memory {@code [batch × hidden]}, updated in place
     * @param cOff   its first element, in floats
     * @param ldc    its leading dimension, in floats
     * @param hOut   the new hidden state's memory {@code [batch × hidden]}, written
     * @param hOff   its first element, in floats
     * @param ldh    its leading dimension, in floats
     */
    void lstmCell(int batch, int hidden,
                  MemorySegment gates, long gOff, int ldg,
                  MemorySegment c, long cOff, int ldc,
                  MemorySegment hOut, long hOff, int ldh);

    /**
     * One GRU step in PyTorch's formulation. {@code gi} ({@code [batch × 3·hidden]}) holds
     * {@code W_ih·x + b_ih} and {@code gh} holds {@code W_hh·h + b_hh}, both in the order {@code r, z, n}:
     * <pre>
     *   r  = σ(gi_r + gh_r)
     *   z  = σ(gi_z + gh_z)
     *   n  = tanh(gi_n + r ⊙ gh_n)
     *   h' = (1 − z) ⊙ n + z ⊙ h
     * </pre>
     * {@code h} is read from {@code hPrev}, {@code h'} written to {@code hOut}; the two may be the same
     * memory. {@code gi} and {@code gh} are not modified.
     *
     * @param batch  the rows (samples)
     * @param hidden the hidden size
     * @param gi     the input projections' memory {@code [batch × 3·hidden]}
     * @param giOff  their first element, in floats
     * @param ldgi   their leading dimension, in floats
     * @param gh     the recurrent projections' memory {@code [batch × 3·hidden]}
     * @param ghOff  their first element, in floats
     * @param ldgh   their leading dimension, in floats
     * @param hPrev  the previous hidden state's memory {@code [batch × hidden]}
     * @param hpOff  its first element, in floats
     * @param ldhp   its leading dimension, in floats
     * @param hOut   the new hidden state's memory {@code [batch × hidden]}, written
     * @param hoOff  its first element, in floats
     * @param ldho   its leading dimension, in floats
     */
    void gruCell(int batch, int hidden,
                 MemorySegment gi, long giOff, int ldgi,
                 MemorySegment gh, long ghOff, int ldgh,
                 MemorySegment hPrev, long hpOff, int ldhp,
                 MemorySegment hOut, long hoOff, int ldho);

    /**
     * One Elman step: {@code h' = act(pre)}, where row {@code b} of {@code pre} ({@code [batch × hidden]})
     * holds {@code W_ih·x + b_ih + W_hh·h + b_hh}. {@code hOut} may be {@code pre}.
     *
     * @param batch      the rows (samples)
     * @param hidden     the hidden size
     * @param activation tanh or ReLU
     * @param pre        the pre-activations' memory {@code [batch × hidden]}
     * @param pOff       their first element, in floats
     * @param ldp        their leading dimension, in floats
     * @param hOut       the new hidden state's memory {@code [batch × hidden]}, written
     * @param hOff       its first element, in floats
     * @param ldh        its leading dimension, in floats
     */
    void rnnCell(int batch, int hidden, Activation activation,
                 MemorySegment pre, long pOff, int ldp,
                 MemorySegment hOut, long hOff, int ldh);
}
