package dev.panamarnn.kernel.simd;

import dev.panamarnn.Activation;
import dev.panamarnn.kernel.FusedSteps;
import dev.panamarnn.kernel.StepWeights;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import static dev.panamarnn.kernel.simd.SimdPackedGemm.NR;

/**
 * The fused recurrent step on the Vector API ({@link FusedSteps}). W_hh is packed once into the panels of
 * {@link SimdPackedGemm} (k-major, NR = two vectors wide), in <em>chunks</em> of hidden units, each
 * chunk's panels holding every gate of its units: for LSTM and GRU a chunk is NR units and its panel g is
 * gate g of them (4 or 3 panels); for an Elman cell a chunk is four panels of units. A step then goes
 * chunk by chunk: the broadcast kernels compute the chunk's tile of all gates for a group of rows into a
 * heap tile, an epilogue adds the input's pre-activations (GRU: {@code b_hn}) into a native row of gates,
 * and the {@link SimdCells} gate kernel updates c and writes h for the chunk's units, all while the tile
 * is in L1. No gate row goes to memory and back, no separate pass over the gates, no per-step packing.
 *
 * <p><b>The same bits as the unfused step</b> ({@link SimdPackedGemm#gemm} with beta = 1 onto the
 * pre-activations, then the gate kernel): each element of the product is the same single FMA chain from
 * zero in k order, the pre-activations are added once, and the gate kernels are the same code. So the
 * fused step may replace the unfused one per call shape without changing any result, and a sample's bits
 * still do not depend on the batch it is computed in.
 *
 * <p>The cell update reuses {@link SimdCells} rather than applying the activations to the accumulators in
 * registers: C2 does not inline a method that large (see {@link SimdCells}), and a vector that crosses a
 * call it declines to inline is boxed. The tile in L1 costs one small extra pass. The gate kernels run
 * once per row block and group of chunks (about 128 units): run per 32-unit chunk, their per-row calls
 * cost more than the pass they save.
 *
 * <p>Measured (Intel Xeon with AVX-512, 512-bit species, one JVM, µs per LSTM step H = 512): 64 rows,
 * fused 1359 against 1343 for the prepared product and the gate kernel; 8 rows 230 against 219; one row
 * 148 against 148. Kernels of 24 accumulators for the 32 AVX-512 registers (three rows × a chunk's four
 * panels, four rows × a GRU chunk's three) made it slower: 1547 at 64 rows. Whether the fused step serves
 * a step shape is therefore measured on each machine ({@code panama-rnn tune}), never assumed.
 */
final class SimdFusedSteps implements FusedSteps {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int VL = S.length();
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final long B = Float.BYTES;
    private static final SimdCells CELLS = new SimdCells();
    /** Units per group of chunks (see {@link #fusedStep}) and the group's panels at most; rows per row block at most. */
    private static final int GROUP_UNITS = 128, GROUP_BYTES = 1 << 20, MAX_ROWS = 6;

    /** Public so that {@link SimdKernelProvider} can create it reflectively. */
    public SimdFusedSteps() {}

    /** W_hh in chunks of panels, per partition; each partition's last chunk zero-padded. */
    static final class Packed extends StepWeights {
        /** Panels per chunk (3 for GRU, else 4), units per chunk. */
        final int panelsPerChunk, chunkUnits;
        /** Where partition q's chunks start in {@link #panels}. */
        final int[] base;
        final float[] panels;

        private Packed(int gates, Activation activation, int[] from, int k, int panelsPerChunk, int chunkUnits, int[] base, float[] panels) {
            super(gates, activation, from, k);
            this.panelsPerChunk = panelsPerChunk;
            this.chunkUnits = chunkUnits;
            this.base = base;
            this.panels = panels;
        }
    }

    @Override
    public StepWeights prepareStep(int gates, Activation activation, MemorySegment w, long wOff, int ldw, int[] from, int k) {
        if (gates != 1 && gates != 3 && gates != 4) throw new IllegalArgumentException("gates: 1, 3 or 4, not " + gates);
        int P = gates == 3 ? 3 : 4, perGate = P / gates, c = perGate * NR, parts = from.length - 1;
        int[] base = new int[parts];
        long size = 0;
        for (int q = 0; q < parts; q++) {
            if (size > Integer.MAX_VALUE) break;
            base[q] = (int) size;
            size += (long) ((from[q + 1] - from[q] + c - 1) / c) * P * NR * k;
        }
        if (size > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("weights [" + gates * from[parts] + " × " + k + "] too large to pack");
        float[] panels = new float[(int) size];
        float[] row = new float[k];
        for (int q = 0; q < parts; q++) {
            int hq = from[q + 1] - from[q];
            for (int g = 0; g < gates; g++) {
                for (int j = 0; j < hq; j++) {
                    MemorySegment.copy(w, F, (wOff + ((long) gates * from[q] + (long) g * hq + j) * ldw) * B, row, 0, k);
                    int u = j % c, panel = (j / c) * P + g * perGate + u / NR;
                    int at = base[q] + panel * NR * k + u % NR;
                    for (int p = 0; p < k; p++) panels[at + p * NR] = row[p];
                }
            }
        }
        return new Packed(gates, activation, from, k, P, c, base, panels);
    }

    @Override
    public void fusedStep(int m, StepWeights sw, int q0, int q1, MemorySegment h, long hOff, int ldh,
                          MemorySegment pre, long pOff, int ldp, MemorySegment bias,
                          MemorySegment c, long cOff, int ldc, MemorySegment hOut, long hoOff, int ldho) {
        if (!(sw instanceof Packed w)) throw new IllegalArgumentException("simd cannot read " + sw + ": prepared by another backend");
        if (m <= 0) return;
        int k = w.k(), P = w.panelsPerChunk, cu = w.chunkUnits, ldt = P * NR, pk = NR * k, G = w.gates();
        // Chunks go in groups of about GROUP_UNITS units: the gate kernels then run once per group and
        // row block, over enough units that their per-row overhead stays small beside the product; but
        // no more panels than GROUP_BYTES, which every row block reads again (so they stay in L2).
        long chunkBytes = (long) P * pk * Float.BYTES;
        int CG = (int) Math.max(1, Math.min(GROUP_UNITS / cu, GROUP_BYTES / chunkBytes)), ldo = G * CG * cu, tb = MAX_ROWS * ldt;
        SimdScratch s = SimdScratch.get();
        float[] xs = s.vec(m * k), tile = s.stepTile(CG * tb);
        for (int i = 0; i < m; i++) MemorySegment.copy(h, F, (hOff + (long) i * ldh) * B, xs, i * k, k);
        MemorySegment gates = s.stepGates(2L * MAX_ROWS * ldo); // the gates, then (GRU) the input's gates from gi
        long gi = (long) MAX_ROWS * ldo;
        for (int q = q0; q < q1; q++) {
            int a = w.unit(q), hq = w.unit(q + 1) - a;
            long col = (long) G * a;
            for (int u0 = 0, cb = w.base[q]; u0 < hq; u0 += CG * cu, cb += CG * P * pk) {
                int span = Math.min(CG * cu, hq - u0), chunks = (span + cu - 1) / cu, unit = a + u0;
                for (int r = 0; r < m; ) {
                    int left = m - r, rows = left >= MAX_ROWS ? MAX_ROWS : left >= 4 ? 4 : left >= 2 ? 2 : 1;
                    for (int ci = 0; ci < chunks; ci++) tile(rows, P, k, w.panels, cb + ci * P * pk, pk, xs, r * k, tile, ci * tb, ldt);
                    long preRow = pOff + (long) r * ldp + col + u0, out = hoOff + (long) r * ldho + unit;
                    for (int ci = 0; ci < chunks; ci++) {
                        int units = Math.min(cu, span - ci * cu), o = ci * cu;
                        if (G == 3) addRows(rows, G, units, cu, tile, ci * tb, ldt, bias, col + u0 + o, 0, hq, gates, o, ldo, span);
                        else addRows(rows, G, units, cu, tile, ci * tb, ldt, pre, preRow + o, ldp, hq, gates, o, ldo, span);
                    }
                    switch (G) {
                        case 4 -> CELLS.lstmCell(rows, span, gates, 0, ldo, c, cOff + (long) r * ldc + unit, ldc, hOut, out, ldho);
                        case 3 -> {
                            addRows(rows, G, span, cu, null, 0, ldt, pre, preRow, ldp, hq, gates, gi, ldo, span);
                            CELLS.gruCell(rows, span, gates, gi, ldo, gates, 0, ldo, h, hOff + (long) r * ldh + unit, ldh, hOut, out, ldho);
                        }
                        default -> CELLS.rnnCell(rows, span, w.activation(), gates, 0, ldo, hOut, out, ldho);
                    }
                    r += rows;
                }
            }
        }
    }

    /** The tile of {@code rows} rows (xs from xo, stride k) × the P panels of a chunk at cb: row r at r·ldt, panel q at q·NR. */
    private static void tile(int rows, int P, int k, float[] w, int cb, int pk, float[] xs, int xo, float[] tile, int to, int ldt) {
        switch (rows) {
            case 6 -> {
                for (int q = 0; q < P; q++) SimdPackedGemm.rows6(k, w, cb + q * pk, xs, xo, tile, to + q * NR, ldt);
            }
            case 4 -> {
                for (int q = 0; q < P; q++) SimdPackedGemm.rows4(k, w, cb + q * pk, xs, xo, tile, to + q * NR, ldt);
            }
            case 2 -> {
                SimdPackedGemm.rows2(k, w, cb, pk, xs, xo, tile, to, ldt);
                if (P == 4) SimdPackedGemm.rows2(k, w, cb + 2 * pk, pk, xs, xo, tile, to + 2 * NR, ldt);
                else rows2x1(k, w, cb + 2 * pk, xs, xo, tile, to + 2 * NR, ldt);
            }
            default -> {
                if (P == 4) SimdPackedGemm.row1(k, w, cb, pk, xs, xo, tile, to);
                else row1x3(k, w, cb, pk, xs, xo, tile, to);
            }
        }
    }

    /**
     * {@code out[oOff + r·ldo + g·ogs + j] = tile[to + r·ldt + g·chunk + j] + src[sOff + r·lds + g·gateStride + j]}
     * for rows, G gates and j < units (the tile null: src alone), into the native block {@code out}; lds = 0:
     * one row of src for all.
     */
    private static void addRows(int rows, int G, int units, int chunk, float[] tile, int to, int ldt,
                                MemorySegment src, long sOff, int lds, int gateStride, MemorySegment out, long oOff, int ldo, int ogs) {
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < G; g++) {
                int t = to + r * ldt + g * chunk;
                long sb = (sOff + (long) r * lds + (long) g * gateStride) * B, ob = (oOff + (long) r * ldo + (long) g * ogs) * B;
                int j = 0;
                for (; j + VL <= units; j += VL) {
                    FloatVector v = FloatVector.fromMemorySegment(S, src, sb + j * B, NO);
                    if (tile != null) v = FloatVector.fromArray(S, tile, t + j).add(v);
                    v.intoMemorySegment(out, ob + j * B, NO);
                }
                // The partial last chunk in scalar (as SimdCells' loops: no vector on a rarely taken path).
                for (; j < units; j++) {
                    float v = src.get(ValueLayout.JAVA_FLOAT, sb + j * B);
                    out.set(ValueLayout.JAVA_FLOAT, ob + j * B, tile != null ? tile[t + j] + v : v);
                }
            }
        }
    }

    /** One row × the three panels from b (a GRU chunk): tile = 6 vectors. */
    private static void row1x3(int k, float[] w, int b, int pk, float[] xs, int xo, float[] tile, int to) {
        FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
        for (int p = 0; p < k; p++) {
            int o = b + p * NR, o1 = o + pk, o2 = o1 + pk;
            FloatVector a = FloatVector.broadcast(S, xs[xo + p]);
            c0 = a.fma(FloatVector.fromArray(S, w, o), c0);
            c1 = a.fma(FloatVector.fromArray(S, w, o + VL), c1);
            c2 = a.fma(FloatVector.fromArray(S, w, o1), c2);
            c3 = a.fma(FloatVector.fromArray(S, w, o1 + VL), c3);
            c4 = a.fma(FloatVector.fromArray(S, w, o2), c4);
            c5 = a.fma(FloatVector.fromArray(S, w, o2 + VL), c5);
        }
        c0.intoArray(tile, to);
        c1.intoArray(tile, to + VL);
        c2.intoArray(tile, to + 2 * VL);
        c3.intoArray(tile, to + 3 * VL);
        c4.intoArray(tile, to + 4 * VL);
        c5.intoArray(tile, to + 5 * VL);
    }

    /** Two rows × the panel at b: row r of the tile at to + r·tld. */
    private static void rows2x1(int k, float[] w, int b, float[] xs, int xo, float[] tile, int to, int tld) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00;
        int x1 = xo + k;
        for (int p = 0; p < k; p++) {
            int o = b + p * NR;
            FloatVector w0 = FloatVector.fromArray(S, w, o), w1 = FloatVector.fromArray(S, w, o + VL);
            FloatVector a = FloatVector.broadcast(S, xs[xo + p]);
            c00 = a.fma(w0, c00);
            c01 = a.fma(w1, c01);
            a = FloatVector.broadcast(S, xs[x1 + p]);
            c10 = a.fma(w0, c10);
            c11 = a.fma(w1, c11);
        }
        c00.intoArray(tile, to);
        c01.intoArray(tile, to + VL);
        c10.intoArray(tile, to + tld);
        c11.intoArray(tile, to + tld + VL);
    }
}
