package tmc.runtime;

/**
 * A failed driver call or a runtime precondition that does not hold, as a checked exception so that callers
 * must handle it; the {@link Problem} inside is what the command line prints (never the stack trace).
 *
 * <p>Driver operations use this rather than {@link Result} because a launch sequence is a chain of a dozen calls
 * where any one failing ends the chain: try-with-resources plus one catch reads far better than a dozen unwraps.
 */
public final class RuntimeFailure extends Exception {
    private static final long serialVersionUID = 1L;
    private final transient Problem problem;

    public RuntimeFailure(Problem problem) {
        super(problem.what(), null, false, false);
        this.problem = problem;
    }

    public Problem problem() {
        return problem;
    }
}
