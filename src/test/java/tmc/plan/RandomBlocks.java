package tmc.plan;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import tmc.check.Frontend;
import tmc.check.PlanSpec;
import tmc.check.Program;
import tmc.check.TypedBlock;
import tmc.target.Targets;

/**
 * Random convnet blocks as .tm text, checked through the real front end: C a multiple of 8 from 8 to 512,
 * E/C in {2, 4, 6}, k in {3, 5, 7}, group width 8 or depthwise, in the four block families.
 */
final class RandomBlocks {
    private RandomBlocks() {}

    enum Family { CONVFIRST, MBCONV, CONVNEXT, FUSEDMLP }

    /** One generated block: its parameters, its text (block only), and the line where the block ends. */
    record Spec(Family family, int c, int ratio, int k, boolean depthwise) {
        int e() {
            return c * ratio;
        }

        String name() {
            return family.name().charAt(0) + family.name().substring(1).toLowerCase() + "_c" + c + "_r" + ratio + "_k" + k
                    + (depthwise ? "_dw" : "_g8");
        }

        /** The block text; its plans are appended by the caller. */
        String blockText() {
            int pad = k / 2;
            String n = "B";
            return switch (family) {
                case CONVFIRST -> String.join("\n",
                        "block " + n + " {",
                        "  param C = " + c + ", E = " + e() + ", GW = " + (depthwise ? 1 : 8),
                        "  in  x  : f16[N, H, W, C]",
                        "  w   wc : f16[C, " + k + ", " + k + ", GW]",
                        "  w   bc : f32[C]",
                        "  w   w1 : f16[E, C]",
                        "  w   b1 : f32[E]",
                        "  w   w2 : f16[C, E]",
                        "  w   b2 : f32[C]",
                        "  out y  : f16[N, H, W, C]",
                        "  a = conv2d(x, wc, groups: C / GW, pad: " + pad + ") + bc",
                        "  h = silu(pointwise(a, w1) + b1)",
                        "  y = pointwise(h, w2) + b2 + x",
                        "}", "");
                case MBCONV -> String.join("\n",
                        "block " + n + " {",
                        "  param C = " + c + ", E = " + e() + ", GW = " + (depthwise ? 1 : 8),
                        "  in  x  : f16[N, H, W, C]",
                        "  w   w1 : f16[E, C]",
                        "  w   b1 : f32[E]",
                        "  w   wd : f16[E, " + k + ", " + k + ", GW]",
                        "  w   bd : f32[E]",
                        "  w   w3 : f16[C, E]",
                        "  w   b3 : f32[C]",
                        "  out y  : f16[N, H, W, C]",
                        "  h1 = silu(pointwise(x, w1) + b1)",
                        "  h2 = silu(conv2d(h1, wd, groups: E / GW, pad: " + pad + ") + bd)",
                        "  y  = pointwise(h2, w3) + b3 + x",
                        "}", "");
                case CONVNEXT -> String.join("\n",
                        "block " + n + " {",
                        "  param C = " + c + ", E = " + e() + ", GW = " + (depthwise ? 1 : 8),
                        "  in  x     : f16[N, H, W, C]",
                        "  w   wd    : f16[C, " + k + ", " + k + ", GW]",
                        "  w   bd    : f32[C]",
                        "  w   g     : f32[C]",
                        "  w   beta  : f32[C]",
                        "  w   w1    : f16[E, C]",
                        "  w   b1    : f32[E]",
                        "  w   w2    : f16[C, E]",
                        "  w   b2    : f32[C]",
                        "  w   gamma : f32[C]",
                        "  out y     : f16[N, H, W, C]",
                        "  a = conv2d(x, wd, groups: C / GW, pad: " + pad + ") + bd",
                        "  n = layernorm(a, g, beta, eps: 1e-6)",
                        "  h = gelu(pointwise(n, w1) + b1)",
                        "  y = gamma * (pointwise(h, w2) + b2) + x",
                        "}", "");
                case FUSEDMLP -> String.join("\n",
                        "block " + n + " {",
                        "  param C = " + c + ", E = " + e(),
                        "  in  x  : f16[N, H, W, C]",
                        "  w   w1 : f16[E, C]",
                        "  w   b1 : f32[E]",
                        "  w   w2 : f16[C, E]",
                        "  w   b2 : f32[C]",
                        "  out y  : f16[N, H, W, C]",
                        "  h = gelu_tanh(pointwise(x, w1) + b1)",
                        "  y = pointwise(h, w2) + b2",
                        "}", "");
            };
        }

        /** The intermediate that a conv reads with a halo (the MBConv expand), or null. */
        String haloIntermediate() {
            return family == Family.MBCONV ? "h1" : null;
        }
    }

    static Spec random(Random r) {
        Family f = Family.values()[r.nextInt(Family.values().length)];
        // C from 8 to 512 in multiples of 8, weighted towards the sizes real networks use.
        int c = r.nextInt(4) == 0 ? 8 * (1 + r.nextInt(64)) : List.of(16, 24, 32, 48, 64, 96, 128, 192, 256).get(r.nextInt(9));
        int ratio = List.of(2, 4, 6).get(r.nextInt(3));
        int k = List.of(3, 5, 7).get(r.nextInt(3));
        boolean dw = r.nextBoolean();
        return new Spec(f, c, ratio, k, dw);
    }

    /** Checks text and returns the program, failing loudly if the generated text is not valid. */
    static Program check(String text) {
        Frontend.Checked c = Frontend.checkText("random.tm", text, Map.of(), Targets.builtin().names());
        if (!c.ok()) {
            throw new AssertionError("generated block does not check:\n" + text + "\n"
                    + c.diagnostics().all().stream().map(d -> d.headline()).toList());
        }
        return c.program();
    }

    static TypedBlock block(Program p) {
        return p.blocks().getFirst();
    }

    static PlanSpec plan(Program p, String name) {
        return p.plan(name).orElseThrow();
    }

    /** The lines of text, numbered from 1, for finding where a directive was written. */
    static int lineOf(String text, String needle) {
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) if (lines[i].contains(needle)) return i + 1;
        throw new AssertionError("no line contains '" + needle + "'");
    }


    static List<Spec> sample(long seed, int count) {
        Random r = new Random(seed);
        List<Spec> out = new ArrayList<>();
        for (int i = 0; i < count; i++) out.add(random(r));
        return out;
    }
}
