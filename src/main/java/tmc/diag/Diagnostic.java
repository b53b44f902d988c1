package tmc.diag;

import java.util.List;

/**
 * One finding about the user's input. {@code details} are extra lines printed under the source excerpt
 * (for example a budget breakdown); {@code hint} says how to fix it, or is null.
 */
public record Diagnostic(Severity severity, Span span, String message, String hint, List<String> details) {
    public Diagnostic {
        details = List.copyOf(details);
    }

    public static Diagnostic error(Span span, String message) {
        return new Diagnostic(Severity.ERROR, span, message, null, List.of());
    }

    public static Diagnostic error(Span span, String message, String hint) {
        return new Diagnostic(Severity.ERROR, span, message, hint, List.of());
    }

    public static Diagnostic warning(Span span, String message, String hint) {
        return new Diagnostic(Severity.WARNING, span, message, hint, List.of());
    }

    public Diagnostic withDetails(List<String> lines) {
        return new Diagnostic(severity, span, message, hint, lines);
    }

    public boolean isError() {
        return severity == Severity.ERROR;
    }

    /** The first line, as tools and tests match it: {@code file:line:col: error: message}. */
    public String headline() {
        return span + ": " + severity.label() + ": " + message;
    }
}
