package dev.panamarnn.nn;

/**
 * PyTorch's recurrent layers written out in double precision, one sample and one step at a time, with
 * no packing, folding or layout tricks: the oracle for random-configuration tests. Arrays are indexed
 * exactly like PyTorch's tensors (time-major here; callers transpose batch-first data).
 */
final class ReferenceRnn {
    private ReferenceRnn() {}

    /** weights: PyTorch names (no prefix) → row-major data. Returns {output[T][B][D·P], hN[L·D][B][P], cN[L·D][B][H]}. */
    static double[][][][] forward(LayerSpec spec, java.util.Map<String, float[]> w, double[][][] x, double[][][] h0, double[][][] c0, int[] lengths) {
        int T = x.length, B = x[0].length, L = spec.numLayers(), D = spec.directions(), H = spec.hiddenSize(), P = spec.outputSize();
        double[][][] in = x;
        double[][][] hN = new double[L * D][B][P], cN = new double[L * D][B][H];
        for (int l = 0; l < L; l++) {
            double[][][] out = new double[T][B][D * P];
            for (int d = 0; d < D; d++) {
                String sfx = "_l" + l + (d == 1 ? "_reverse" : "");
                for (int b = 0; b < B; b++) {
                    int len = lengths == null ? T : lengths[b];
                    double[] h = h0 == null ? new double[P] : h0[l * D + d][b].clone();
                    double[] c = c0 == null ? new double[H] : c0[l * D + d][b].clone();
                    for (int s = 0; s < len; s++) {
                        int t = d == 0 ? s : len - 1 - s;
                        double[][] hc = cell(spec, w, sfx, in[t][b], h, c);
                        h = hc[0];
                        c = hc[1];
                        System.arraycopy(h, 0, out[t][b], d * P, P);
                    }
                    hN[l * D + d][b] = h;
                    cN[l * D + d][b] = c;
                }
            }
            in = out;
        }
        return new double[][][][] {in, hN, cN};
    }

    /** One step of one sample: returns {h', c'}. */
    static double[][] cell(LayerSpec spec, java.util.Map<String, float[]> w, String sfx, double[] x, double[] h, double[] c) {
        int H = spec.hiddenSize(), G = spec.mode().gates(), I = x.length, P = h.length;
        float[] wih = w.get("weight_ih" + sfx), whh = w.get("weight_hh" + sfx);
        float[] bih = w.get("bias_ih" + sfx), bhh = w.get("bias_hh" + sfx);
        double[] gi = new double[G * H], gh = new double[G * H];
        for (int r = 0; r < G * H; r++) {
            double si = bih == null ? 0 : bih[r], sh = bhh == null ? 0 : bhh[r];
            for (int i = 0; i < I; i++) si += (double) wih[r * I + i] * x[i];
            for (int i = 0; i < P; i++) sh += (double) whh[r * P + i] * h[i];
            gi[r] = si;
            gh[r] = sh;
        }
        switch (spec.mode()) {
            case LSTM -> {
                double[] c2 = new double[H], hr = new double[H];
                for (int j = 0; j < H; j++) {
                    double ig = sig(gi[j] + gh[j]), fg = sig(gi[H + j] + gh[H + j]);
                    double gg = Math.tanh(gi[2 * H + j] + gh[2 * H + j]), og = sig(gi[3 * H + j] + gh[3 * H + j]);
                    c2[j] = fg * c[j] + ig * gg;
                    hr[j] = og * Math.tanh(c2[j]);
                }
                if (spec.projSize() == 0) return new double[][] {hr, c2};
                float[] whr = w.get("weight_hr" + sfx);
                double[] hp = new double[P];
                for (int p = 0; p < P; p++) for (int j = 0; j < H; j++) hp[p] += (double) whr[p * H + j] * hr[j];
                return new double[][] {hp, c2};
            }
            case GRU -> {
                double[] h2 = new double[H];
                for (int j = 0; j < H; j++) {
                    double r = sig(gi[j] + gh[j]), z = sig(gi[H + j] + gh[H + j]);
                    double n = Math.tanh(gi[2 * H + j] + r * gh[2 * H + j]);
                    h2[j] = (1 - z) * n + z * h[j];
                }
                return new double[][] {h2, c};
            }
            default -> {
                double[] h2 = new double[H];
                for (int j = 0; j < H; j++) {
                    double v = gi[j] + gh[j];
                    h2[j] = spec.mode() == Mode.RNN_TANH ? Math.tanh(v) : Math.max(0, v);
                }
                return new double[][] {h2, c};
            }
        }
    }

    private static double sig(double v) {
        return 1 / (1 + Math.exp(-v));
    }
}
