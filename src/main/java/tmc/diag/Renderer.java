package tmc.diag;

import java.util.List;
import java.util.Map;

/**
 * Renders diagnostics the way compilers do:
 * <pre>
 * convfirst.tm:24:3: error: message
 *    24 |   tile H 80
 *       |        ^^
 *   hint: lower 'tile H'
 * </pre>
 */
public final class Renderer {
    private final Map<String, String> sources;

    /** @param sources file name to its full text, for the source excerpts */
    public Renderer(Map<String, String> sources) {
        this.sources = sources;
    }

    public String render(Diagnostic d) {
        StringBuilder out = new StringBuilder(d.headline()).append('\n');
        String line = sourceLine(d.span());
        if (line != null) {
            String number = String.valueOf(d.span().line());
            String gutter = " ".repeat(number.length());
            out.append(' ').append(number).append(" | ").append(line.replace('\t', ' ')).append('\n');
            int caretCol = Math.min(d.span().col(), line.length() + 1);
            int width = Math.max(1, Math.min(d.span().length(), line.length() - caretCol + 1));
            out.append(' ').append(gutter).append(" | ")
                    .append(" ".repeat(Math.max(0, caretCol - 1)))
                    .append("^".repeat(width)).append('\n');
        }
        for (String detail : d.details()) out.append("    ").append(detail).append('\n');
        if (d.hint() != null) out.append("  hint: ").append(d.hint()).append('\n');
        return out.toString();
    }

    public String renderAll(List<Diagnostic> diagnostics) {
        StringBuilder out = new StringBuilder();
        for (Diagnostic d : diagnostics) out.append(render(d));
        return out.toString();
    }

    private String sourceLine(Span span) {
        if (!span.isReal()) return null;
        String text = sources.get(span.file());
        if (text == null) return null;
        String[] lines = text.split("\r?\n", -1);
        return span.line() <= lines.length ? lines[span.line() - 1] : null;
    }
}
