package tmc.syntax;

import java.util.ArrayList;
import java.util.List;
import org.antlr.v4.runtime.BaseErrorListener;
import org.antlr.v4.runtime.CharStreams;
import org.antlr.v4.runtime.CommonTokenStream;
import org.antlr.v4.runtime.DefaultErrorStrategy;
import org.antlr.v4.runtime.InputMismatchException;
import org.antlr.v4.runtime.ParserRuleContext;
import org.antlr.v4.runtime.RecognitionException;
import org.antlr.v4.runtime.Recognizer;
import org.antlr.v4.runtime.Token;
import org.antlr.v4.runtime.TokenStream;
import org.antlr.v4.runtime.tree.TerminalNode;
import tmc.diag.Diagnostics;
import tmc.diag.Span;
import tmc.syntax.Ast.*;
import tmc.syntax.gen.TmLexer;
import tmc.syntax.gen.TmParser;

/** Parses one file's text into an AST plus its include paths. Syntax errors become diagnostics. */
public final class Parser {

    /** What one file holds: its blocks and plans, and the files it includes (as written, with where). */
    public record ParsedFile(Unit module, List<Include> includes) {}

    public record Include(String path, Span span) {}

    private final String file;
    private final Diagnostics diagnostics;

    private Parser(String file, Diagnostics diagnostics) {
        this.file = file;
        this.diagnostics = diagnostics;
    }

    /**
     * Parses {@code text}. On a syntax error the diagnostics say where, and the returned module is empty:
     * semantic checks on a half-recovered tree would only add noise.
     */
    public static ParsedFile parse(String file, String text, Diagnostics diagnostics) {
        Parser p = new Parser(file, diagnostics);
        Diagnostics syntax = new Diagnostics();
        TmLexer lexer = new TmLexer(CharStreams.fromString(text, file));
        lexer.removeErrorListeners();
        CommonTokenStream tokens = new CommonTokenStream(lexer);
        TmParser parser = new TmParser(tokens);
        parser.removeErrorListeners();
        parser.addErrorListener(p.new SyntaxErrors(syntax, tokens));
        parser.setErrorHandler(new ItemAwareRecovery());
        TmParser.FileContext tree = parser.file();
        diagnostics.addAll(syntax);
        if (syntax.hasErrors()) return new ParsedFile(new Unit(List.of(), List.of()), List.of());
        Diagnostics literals = new Diagnostics();
        ParsedFile result = new Parser(file, literals).build(tree);
        diagnostics.addAll(literals);
        return literals.hasErrors() ? new ParsedFile(new Unit(List.of(), List.of()), List.of()) : result;
    }

    // ---- syntax errors ---------------------------------------------------------------------

    /**
     * ANTLR repairs a missing token by pretending it was there and reading on. Since keywords are also names,
     * at the start of a top-level item or a declaration that reads what follows as an expression: a block
     * that lacks its '}' would take the plans after it for statements and report an error on every line.
     * There the current rule fails instead, and recovery resumes at the item or declaration.
     */
    private static final class ItemAwareRecovery extends DefaultErrorStrategy {
        @Override
        public Token recoverInline(org.antlr.v4.runtime.Parser recognizer) {
            TokenStream in = recognizer.getInputStream();
            if (beginsDeclaration(in.LT(1), in.LT(2), in.LT(3))) throw new InputMismatchException(recognizer);
            return super.recoverInline(recognizer);
        }

        /**
         * Nor drop a token to read the next item or declaration as the operand of this one, nor drop a '}':
         * reading on past the end of a block would take everything after it for statements.
         */
        @Override
        protected Token singleTokenDeletion(org.antlr.v4.runtime.Parser recognizer) {
            TokenStream in = recognizer.getInputStream();
            if (in.LT(1).getText().equals("}") || beginsDeclaration(in.LT(2), in.LT(3), in.LT(4))) return null;
            return super.singleTokenDeletion(recognizer);
        }

        /** An item, or {@code in|w|out NAME :} or {@code param NAME =}: how the lines of a block begin. */
        private static boolean beginsDeclaration(Token first, Token second, Token third) {
            if (TmParser.itemStart(first, second, third)) return true;
            return switch (first.getText()) {
                case "in", "w", "out" -> second.getType() == TmLexer.ID && third.getText().equals(":");
                case "param" -> second.getType() == TmLexer.ID && third.getText().equals("=");
                default -> false;
            };
        }
    }

    private final class SyntaxErrors extends BaseErrorListener {
        private final Diagnostics out;
        private final CommonTokenStream tokens;
        /** Lines that already have a syntax error: a second one on the same line is nearly always its echo. */
        private final java.util.Set<Integer> linesReported = new java.util.HashSet<>();

        SyntaxErrors(Diagnostics out, CommonTokenStream tokens) {
            this.out = out;
            this.tokens = tokens;
        }

        @Override
        public void syntaxError(Recognizer<?, ?> recognizer, Object offending, int line, int col,
                                String antlrMessage, RecognitionException e) {
            Token token = offending instanceof Token t ? t : null;
            int length = token != null && token.getType() != Token.EOF ? token.getText().length() : 1;
            Span span = new Span(file, line, col + 1, length);
            String message = friendly(token, antlrMessage);
            String hint = hintFor(token);
            // A block or plan body that meets the next top-level item lacks its '}' (the grammar ends a block
            // body there, see atItemStart in Tm.g4): say so, at the end of the body, instead of "unexpected".
            ParserRuleContext item = token != null && isItemStart(token)
                    ? enclosingBody(e != null ? e.getCtx() : ((TmParser) recognizer).getContext()) : null;
            if (item != null) {
                String kind = item instanceof TmParser.BlockDeclContext ? "block"
                        : item instanceof TmParser.NetworkDeclContext ? "network" : "plan";
                TmParser.IdentContext name = switch (item) {
                    case TmParser.BlockDeclContext b -> b.name;
                    case TmParser.NetworkDeclContext nw -> nw.name;
                    default -> ((TmParser.PlanDeclContext) item).name;
                };
                message = "missing '}' before " + describe(token) + ": " + kind + " '"
                        + (name == null ? "?" : name.getText()) + "' (line " + item.start.getLine() + ") is not closed";
                hint = "end the " + kind + " with '}'";
                span = afterPreviousToken(token, span);
            } else if (token != null && (token.getType() == Token.EOF || antlrMessage.startsWith("missing ")
                    && startsLaterLine(token))) {
                span = afterPreviousToken(token, span);
            } else if (token != null && startsLaterLine(token) && message.startsWith("unexpected ")
                    && message.contains(", expected ")) {
                // The line before ended too early (a ']' or ')' left out): say so where it ended, not at the
                // first token of the next line, which is fine where it is.
                String expected = message.substring(message.indexOf(", expected ") + ", expected ".length());
                message = "expected " + expected + " at the end of the line, before " + describe(token) + " on line "
                        + token.getLine();
                span = afterPreviousToken(token, span);
            }
            // Once a statement has an error, the parser's recovery inside it (reading the next lines as more
            // arguments of a call left open, say) only echoes that error: one per statement.
            // A statement that does not begin its line, after an error, is where recovery resumed in the middle of
            // the line after: 'h = f(a + )' read on into 'y = g(h)' and 'g(h)' became a statement of its own.
            Integer statement = enclosingStatement(e != null ? e.getCtx() : ((TmParser) recognizer).getContext());
            if (statement != null && !statementsReported.add(statement)) return;
            if (statement != null && statementsReported.size() > 1
                    && !startsLaterLine(tokens.get(statement))) return;
            if (linesReported.add(span.line())) out.error(span, message, hint);
        }

        /** Statements with an error already, by their first token's index. */
        private final java.util.Set<Integer> statementsReported = new java.util.HashSet<>();

        /** The first token's index of the declaration, assignment, directive or network statement being parsed. */
        private static Integer enclosingStatement(org.antlr.v4.runtime.RuleContext ctx) {
            for (var c = ctx; c != null; c = c.getParent()) {
                if (c instanceof TmParser.AssignContext || c instanceof TmParser.ParamDeclContext
                        || c instanceof TmParser.TensorDeclContext || c instanceof TmParser.DirectiveContext
                        || c instanceof TmParser.NetStmtContext || c instanceof TmParser.IncludeDeclContext) {
                    Token start = ((ParserRuleContext) c).getStart();
                    return start == null ? null : start.getTokenIndex();
                }
            }
            return null;
        }

        /**
         * Something missing at the end of a line (or of the file) is reported just after the last token
         * before it, where it belongs, rather than at the next token, which may be lines further down.
         */
        private Span afterPreviousToken(Token token, Span fallback) {
            Token t = previousToken(token);
            return t == null ? fallback
                    : new Span(file, t.getLine(), t.getCharPositionInLine() + t.getText().length() + 1, 1);
        }

        private boolean isItemStart(Token token) {
            Token second = nextToken(token);
            Token third = second == null ? null : nextToken(second);
            return third != null && TmParser.itemStart(token, second, third);
        }

        /** The block or plan whose body (after its '{') the parser is in, or null. */
        private static ParserRuleContext enclosingBody(org.antlr.v4.runtime.RuleContext ctx) {
            for (var c = ctx; c != null; c = c.getParent()) {
                if (c instanceof TmParser.BlockDeclContext || c instanceof TmParser.PlanDeclContext
                        || c instanceof TmParser.NetworkDeclContext) {
                    ParserRuleContext item = (ParserRuleContext) c;
                    boolean opened = item.children != null && item.children.stream()
                            .anyMatch(k -> k instanceof TerminalNode t && t.getText().equals("{"));
                    return opened ? item : null;
                }
            }
            return null;
        }

        private Token nextToken(Token token) {
            tokens.fill(); // the parser may not have looked this far ahead yet
            for (int i = token.getTokenIndex() + 1; i < tokens.size(); i++) {
                Token t = tokens.get(i);
                if (t.getChannel() == Token.DEFAULT_CHANNEL) return t;
            }
            return null;
        }

        private boolean startsLaterLine(Token token) {
            Token t = previousToken(token);
            return t != null && t.getLine() < token.getLine();
        }

        private Token previousToken(Token token) {
            for (int i = token.getTokenIndex() - 1; i >= 0; i--) {
                Token t = tokens.get(i);
                if (t.getChannel() == Token.DEFAULT_CHANNEL) return t;
            }
            return null;
        }
    }

    /** ANTLR's messages name grammar tokens; say instead what was found and what would fit. */
    static String friendly(Token token, String antlrMessage) {
        String found = token == null ? "input" : describe(token);
        String expected = null;
        int i = antlrMessage.indexOf("expecting ");
        if (i >= 0) expected = antlrMessage.substring(i + "expecting ".length()).trim();
        if (token != null && token.getType() == TmLexer.BAD_CHAR) {
            return "unexpected character " + found;
        }
        if (token != null && token.getType() == TmLexer.BAD_NUMBER) {
            return found + " is neither a number nor a name";
        }
        if (antlrMessage.startsWith("token recognition error")) {
            return "unexpected character in input";
        }
        if (expected != null) {
            return "unexpected " + found + ", expected " + readableSet(expected);
        }
        if (antlrMessage.startsWith("missing ")) {
            String what = antlrMessage.substring("missing ".length());
            int at = what.indexOf(" at ");
            if (at > 0) what = what.substring(0, at);
            return "missing " + readableSet(what) + " before " + found;
        }
        return "unexpected " + found;
    }

    private static String describe(Token token) {
        if (token.getType() == Token.EOF) return "end of file";
        return "'" + token.getText().replace("\n", "\\n") + "'";
    }

    /** The contextual keywords of the grammar: where a name fits they fit too, so listing them is noise. */
    private static final java.util.Set<String> KEYWORDS = java.util.Set.of("include", "block", "param", "in", "w",
            "out", "plan", "for", "on", "separate", "auto", "tile", "place", "stream", "by", "warps", "math", "halo",
            "resident", "network", "accuracy", "fuse", "repeat");

    /** ANTLR writes a token set as {@code {'}', 'block', ID}} (braces only when there are several). */
    private static String readableSet(String set) {
        String s = set.trim();
        if (s.length() > 1 && s.startsWith("{") && s.endsWith("}")) s = s.substring(1, s.length() - 1);
        List<String> items = new ArrayList<>();
        for (String item : s.split(", ")) {
            items.add(switch (item) {
                case "<EOF>" -> "end of file";
                case "ID" -> "a name";
                case "INT" -> "an integer";
                case "FLOAT" -> "a number";
                case "STRING" -> "a quoted path";
                default -> item;
            });
        }
        if (items.contains("a name")) {
            items.removeIf(i -> i.length() > 2 && i.startsWith("'") && KEYWORDS.contains(i.substring(1, i.length() - 1)));
        }
        List<String> expressionStart = List.of("'('", "'-'", "a name", "a number", "an integer");
        if (items.size() == expressionStart.size() && items.containsAll(expressionStart)) return "an expression";
        return String.join(" or ", items);
    }

    private static String hintFor(Token token) {
        if (token == null) return null;
        String t = token.getText();
        if (t.equals(";")) return "statements end at the end of the line; remove the ';'";
        if (t.equals("\"")) return "a quoted path ends with '\"' on the same line";
        if (token.getType() == TmLexer.BAD_NUMBER) {
            return "names start with a letter or '_'; numbers are digits with an optional fraction and exponent (1e-6)";
        }
        return null;
    }

    // ---- tree to AST ---------------------------------------------------------------------------

    private ParsedFile build(TmParser.FileContext tree) {
        List<Block> blocks = new ArrayList<>();
        List<Plan> plans = new ArrayList<>();
        List<Include> includes = new ArrayList<>();
        List<Network> networks = new ArrayList<>();
        for (TmParser.ItemContext item : tree.item()) {
            if (item.includeDecl() != null) {
                Token s = item.includeDecl().STRING().getSymbol();
                String raw = s.getText();
                includes.add(new Include(raw.substring(1, raw.length() - 1), span(s)));
            } else if (item.blockDecl() != null) {
                blocks.add(block(item.blockDecl()));
            } else if (item.planDecl() != null) {
                plans.add(plan(item.planDecl()));
            } else if (item.networkDecl() != null) {
                networks.add(network(item.networkDecl()));
            }
        }
        return new ParsedFile(new Unit(blocks, plans, networks), includes);
    }

    private Arg arg(TmParser.ArgContext a) {
        return new Arg(a.ident() == null ? null : name(a.ident()), expr(a.expr()));
    }

    private Network network(TmParser.NetworkDeclContext c) {
        return new Network(name(c.name), netStatements(c.netStmt()), span(c));
    }

    private List<NetStmt> netStatements(List<TmParser.NetStmtContext> statements) {
        List<NetStmt> out = new ArrayList<>();
        for (TmParser.NetStmtContext s : statements) {
            switch (s) {
                case TmParser.AccuracyStmtContext a -> {
                    String raw = a.source.getText();
                    out.add(new NetAccuracy(Double.parseDouble(a.value.getText()), raw.substring(1, raw.length() - 1),
                            span(a)));
                }
                case TmParser.FuseStmtContext f -> out.add(new NetFuse(netStatements(f.netStmt()), span(f)));
                case TmParser.RepeatStmtContext r -> out.add(new NetRepeat(parseInt(r.count), span(r.count),
                        netStatements(r.netStmt()), span(r)));
                case TmParser.LayerStmtContext l -> {
                    if (l.fn == null) continue; // a syntax error, already reported
                    out.add(new NetCall(name(l.fn), l.arg().stream().map(this::arg).toList(), span(l)));
                }
                default -> { }
            }
        }
        return out;
    }

    private Block block(TmParser.BlockDeclContext c) {
        List<Param> params = new ArrayList<>();
        List<TensorDecl> tensors = new ArrayList<>();
        List<Assign> statements = new ArrayList<>();
        for (TmParser.MemberContext m : c.member()) {
            if (m.paramDecl() != null) {
                for (TmParser.BindingContext b : m.paramDecl().binding()) {
                    params.add(new Param(name(b.ident()), expr(b.expr())));
                }
            } else if (m.tensorDecl() != null) {
                TmParser.TensorDeclContext t = m.tensorDecl();
                Role role = switch (t.role.getText()) {
                    case "in" -> Role.INPUT;
                    case "w" -> Role.WEIGHT;
                    default -> Role.OUTPUT;
                };
                List<Expr> dims = t.expr().stream().map(this::expr).toList();
                tensors.add(new TensorDecl(role, name(t.ident(0)), name(t.dtype), dims, span(t)));
            } else {
                statements.add(new Assign(name(m.assign().ident()), expr(m.assign().expr())));
            }
        }
        return new Block(name(c.name), params, tensors, statements);
    }

    private Expr expr(TmParser.ExprContext c) {
        return switch (c) {
            case TmParser.ParenExprContext p -> expr(p.expr());
            case TmParser.CallExprContext call -> new Call(name(call.ident()),
                    call.arg().stream().map(this::arg)
                            .toList(), span(call));
            case TmParser.NegExprContext n -> new Neg(expr(n.expr()), span(n.op));
            case TmParser.MulExprContext m -> new Binary(binOp(m.op.getText()), expr(m.expr(0)), expr(m.expr(1)),
                    span(m.op));
            case TmParser.AddExprContext a -> new Binary(binOp(a.op.getText()), expr(a.expr(0)), expr(a.expr(1)),
                    span(a.op));
            case TmParser.NameExprContext n -> new Ref(name(n.ident()));
            case TmParser.IntExprContext i -> new IntLit(parseLong(i.INT().getSymbol()), span(i.INT().getSymbol()));
            case TmParser.FloatExprContext f -> {
                Token t = f.FLOAT().getSymbol();
                yield new FloatLit(Double.parseDouble(t.getText()), t.getText(), span(t));
            }
            default -> throw new IllegalStateException("unhandled expression " + c.getClass().getSimpleName());
        };
    }

    private static BinOp binOp(String symbol) {
        return switch (symbol) {
            case "+" -> BinOp.ADD;
            case "-" -> BinOp.SUB;
            case "*" -> BinOp.MUL;
            case "/" -> BinOp.DIV;
            default -> BinOp.MOD;
        };
    }

    private Plan plan(TmParser.PlanDeclContext c) {
        List<Directive> directives = new ArrayList<>();
        for (TmParser.DirectiveContext d : c.directive()) {
            directives.add(switch (d) {
                case TmParser.SeparateDirectiveContext s -> new Separate(span(s));
                case TmParser.AutoDirectiveContext a -> new Auto(span(a));
                case TmParser.TileDirectiveContext t -> new Tile(t.tileDim().stream()
                        .map(td -> new TileSize(name(td.ident()), parseInt(td.INT().getSymbol()), span(td.INT().getSymbol())))
                        .toList(), span(t));
                case TmParser.PlaceDirectiveContext p -> new Place(name(p.ident(0)), name(p.space),
                        p.halo() == null ? null : new HaloSpec(parseInt(p.halo().INT().getSymbol()),
                                span(p.halo().INT().getSymbol()), p.halo().haloMode == null ? null : name(p.halo().haloMode)),
                        span(p));
                case TmParser.StreamDirectiveContext s -> s.chunkParam != null
                        ? new Stream(name(s.ident(0)), 0, name(s.chunkParam), name(s.chunkParam).span(), span(s))
                        : new Stream(name(s.ident(0)), parseInt(s.INT().getSymbol()), span(s.INT().getSymbol()), span(s));
                case TmParser.WarpsDirectiveContext w -> w.consumers == null
                        ? new Warps(parseInt(w.count), span(w.count), span(w))
                        : new Warps(parseInt(w.count), span(w.count), parseInt(w.consumers), span(w.consumers), span(w));
                case TmParser.MathDirectiveContext m -> new Ast.Math(name(m.kind), m.tensor == null ? null : name(m.tensor), span(m));
                case TmParser.ResidentDirectiveContext r -> new Ast.Resident(parseInt(r.count), span(r.count), span(r));
                default -> throw new IllegalStateException("unhandled directive " + d.getClass().getSimpleName());
            });
        }
        return new Plan(name(c.name), name(c.block), c.arch == null ? null : name(c.arch), directives, span(c.start));
    }

    // ---- helpers -------------------------------------------------------------------------------

    private Name name(TmParser.IdentContext c) {
        return new Name(c.getText(), span(c.start));
    }

    private long parseLong(Token t) {
        try {
            return Long.parseLong(t.getText());
        } catch (NumberFormatException e) {
            diagnostics.error(span(t), "integer " + t.getText() + " is too large", "integers must be below 2^63");
            return 0;
        }
    }

    private int parseInt(Token t) {
        try {
            return Integer.parseInt(t.getText());
        } catch (NumberFormatException e) {
            diagnostics.error(span(t), "integer " + t.getText() + " is too large", "use a value below 2^31");
            return 0;
        }
    }

    private Span span(Token t) {
        return new Span(file, t.getLine(), t.getCharPositionInLine() + 1, t.getText().length());
    }

    /** The span of a whole rule when it sits on one line, else of its first token. */
    private Span span(ParserRuleContext c) {
        Token start = c.start;
        Token stop = c.stop;
        if (stop != null && stop.getLine() == start.getLine() && stop.getStopIndex() >= start.getStartIndex()) {
            return new Span(file, start.getLine(), start.getCharPositionInLine() + 1,
                    stop.getStopIndex() - start.getStartIndex() + 1);
        }
        return span(start);
    }
}
