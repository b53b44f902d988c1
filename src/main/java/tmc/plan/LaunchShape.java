package tmc.plan;

/** The launch shape the planner predicts for: images N and spatial size H x W (channels are block parameters). */
public record LaunchShape(int n, int h, int w) {
    public LaunchShape {
        if (n <= 0 || h <= 0 || w <= 0) throw new IllegalArgumentException("shape must be positive: " + n + "," + h + "," + w);
    }

    /** The shape every checked-in plan report uses (generated/), the design notes' benchmark shape. */
    public static final LaunchShape REFERENCE = new LaunchShape(128, 56, 56);

    public long pixels() {
        return (long) n * h * w;
    }

    @Override
    public String toString() {
        return "N=" + n + ",H=" + h + ",W=" + w;
    }
}
