package tmc.check;

import tmc.diag.Span;

/**
 * An activation tensor of shape [N, H, W, channels] in NHWC order. N, H and W are bound at launch.
 * {@code dtype} is where its values are rounded: the declared type for inputs and outputs, the block's
 * storage type for named intermediates, and f32 (no rounding) for the unnamed parts of one statement.
 */
public record Activation(String name, Kind kind, DType dtype, int channels, Span span) {
    public enum Kind {
        INPUT, OUTPUT, NAMED, UNNAMED;
    }

    public String shape() {
        return "[N, H, W, " + channels + "]";
    }

    public Activation withName(String newName, Kind newKind, DType newDtype, Span newSpan) {
        return new Activation(newName, newKind, newDtype, channels, newSpan);
    }
}
