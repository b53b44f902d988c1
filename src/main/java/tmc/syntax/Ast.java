package tmc.syntax;

import java.util.List;
import tmc.diag.Span;

/** The abstract syntax of a .tm file: exactly what was written, with a span on everything. */
public final class Ast {
    private Ast() {}

    /** A parsed file (after includes are resolved, the blocks, plans and networks of all of them). */
    public record Unit(List<Block> blocks, List<Plan> plans, List<Network> networks) {
        public Unit {
            blocks = List.copyOf(blocks);
            plans = List.copyOf(plans);
            networks = List.copyOf(networks);
        }

        public Unit(List<Block> blocks, List<Plan> plans) {
            this(blocks, plans, List.of());
        }
    }

    /** A name as written, with where. */
    public record Name(String text, Span span) {}

    // ---- blocks ------------------------------------------------------------------------

    public record Block(Name name, List<Param> params, List<TensorDecl> tensors, List<Assign> statements) {
        public Block {
            params = List.copyOf(params);
            tensors = List.copyOf(tensors);
            statements = List.copyOf(statements);
        }
    }

    public record Param(Name name, Expr value) {}

    public enum Role {
        INPUT("in"), WEIGHT("w"), OUTPUT("out");

        public final String keyword;

        Role(String keyword) {
            this.keyword = keyword;
        }
    }

    public record TensorDecl(Role role, Name name, Name dtype, List<Expr> dims, Span span) {
        public TensorDecl {
            dims = List.copyOf(dims);
        }
    }

    public record Assign(Name target, Expr value) {}

    /** Expressions: integer arithmetic over parameters, and tensor computations in statements. */
    public sealed interface Expr {
        Span span();
    }

    public record IntLit(long value, Span span) implements Expr {}

    public record FloatLit(double value, String text, Span span) implements Expr {}

    public record Ref(Name name) implements Expr {
        @Override
        public Span span() {
            return name.span();
        }
    }

    public record Neg(Expr operand, Span span) implements Expr {}

    public enum BinOp {
        ADD("+"), SUB("-"), MUL("*"), DIV("/"), MOD("%");

        public final String symbol;

        BinOp(String symbol) {
            this.symbol = symbol;
        }
    }

    public record Binary(BinOp op, Expr left, Expr right, Span opSpan) implements Expr {
        @Override
        public Span span() {
            return opSpan;
        }
    }

    public record Call(Name function, List<Arg> args, Span span) implements Expr {
        public Call {
            args = List.copyOf(args);
        }
    }

    /** A call argument; {@code keyword} is null for positional arguments. */
    public record Arg(Name keyword, Expr value) {
        public Span span() {
            return keyword != null ? keyword.span() : value.span();
        }
    }

    // ---- plans -------------------------------------------------------------------------

    public record Plan(Name name, Name block, Name arch, List<Directive> directives, Span span) {
        public Plan {
            directives = List.copyOf(directives);
        }
    }

    public sealed interface Directive {
        Span span();
    }

    public record Separate(Span span) implements Directive {}

    public record Auto(Span span) implements Directive {}

    public record TileSize(Name dim, int size, Span sizeSpan) {}

    public record Tile(List<TileSize> sizes, Span span) implements Directive {
        public Tile {
            sizes = List.copyOf(sizes);
        }
    }

    /** {@code halo} is null when no halo was written. */
    public record Place(Name tensor, Name space, HaloSpec halo, Span span) implements Directive {}

    /** {@code mode} is null when not written (the checker picks the default for the tensor). */
    public record HaloSpec(int radius, Span radiusSpan, Name mode) {}

    /**
     * {@code stream dim by chunk}; {@code chunkParam}, when not null, names the block parameter whose value is the
     * chunk ({@code stream E by E}: one chunk, the whole dimension), and {@code chunk} is then 0.
     */
    public record Stream(Name dim, int chunk, Name chunkParam, Span chunkSpan, Span span) implements Directive {
        public Stream(Name dim, int chunk, Span chunkSpan, Span span) {
            this(dim, chunk, null, chunkSpan, span);
        }
    }

    /**
     * {@code warps count} or, warp-specialized, {@code warps count + consumers}: {@code count} producer warps and
     * {@code consumers} consumer warps ({@code consumers} is null without the split).
     */
    public record Warps(int count, Span countSpan, Integer consumers, Span consumersSpan, Span span) implements Directive {
        public Warps(int count, Span countSpan, Span span) {
            this(count, countSpan, null, null, span);
        }
    }

    /**
     * {@code math kind}, the plan's unit, or {@code math kind for tensor}: the unit of the layer that computes
     * {@code tensor} (null for the plan's).
     */
    public record Math(Name kind, Name tensor, Span span) implements Directive {}

    /** {@code resident count}: compile the kernel for {@code count} blocks per SM (its launch bounds). */
    public record Resident(int count, Span countSpan, Span span) implements Directive {}

    // ---- networks ----------------------------------------------------------------------

    /** A whole model: a sequence of layers and block instances, for analysis (never compiled to one kernel). */
    public record Network(Name name, List<NetStmt> body, Span span) {
        public Network {
            body = List.copyOf(body);
        }
    }

    public sealed interface NetStmt {
        Span span();
    }

    /** {@code accuracy 77.7 "source"}: the model's published ImageNet top-1 accuracy, in percent. */
    public record NetAccuracy(double percent, String source, Span span) implements NetStmt {}

    /** {@code input(...)}, a plain layer such as {@code conv(32, k: 3)}, or a block instance {@code ConvFirst(C: 64)}. */
    public record NetCall(Name function, List<Arg> args, Span span) implements NetStmt {
        public NetCall {
            args = List.copyOf(args);
        }
    }

    /** {@code fuse { ... }}: layers a block-fusion execution runs as one kernel (split only at a global pool). */
    public record NetFuse(List<NetStmt> body, Span span) implements NetStmt {
        public NetFuse {
            body = List.copyOf(body);
        }
    }

    /** {@code repeat 3 { ... }}. */
    public record NetRepeat(int count, Span countSpan, List<NetStmt> body, Span span) implements NetStmt {
        public NetRepeat {
            body = List.copyOf(body);
        }
    }
}
