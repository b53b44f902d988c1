package tmc.runtime;

import java.util.Objects;

/**
 * A runtime failure as a value: what failed, optional details (an NVRTC program log, a driver error name),
 * and how to fix it. {@link #render()} gives the text the command line prints.
 */
public record Problem(String what, String detail, String fix) {
    public Problem {
        Objects.requireNonNull(what, "what");
        detail = detail == null ? "" : detail.strip();
        fix = fix == null ? "" : fix.strip();
    }

    public static Problem of(String what) {
        return new Problem(what, "", "");
    }

    public static Problem of(String what, String fix) {
        return new Problem(what, "", fix);
    }

    public Problem withDetail(String more) {
        return new Problem(what, detail.isEmpty() ? more : detail + "\n" + more, fix);
    }

    /** Multi-line text: the message, the details indented, then "fix: ...". */
    public String render() {
        StringBuilder sb = new StringBuilder(what);
        if (!detail.isEmpty()) {
            for (String line : detail.split("\n", -1)) sb.append("\n    ").append(line);
        }
        if (!fix.isEmpty()) sb.append("\n  fix: ").append(fix);
        return sb.toString();
    }

    @Override
    public String toString() {
        return render();
    }
}
