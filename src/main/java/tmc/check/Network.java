package tmc.check;

import java.util.List;
import tmc.diag.Span;

/**
 * A checked network: the whole model as a flat sequence of layers with their shapes, grouped into units (a block
 * instance, a {@code fuse} group, or one plain layer). Counts are for the whole batch. See docs/analysis.md.
 *
 * @param accuracy the published ImageNet top-1 accuracy with its source, or null when the file gives none
 */
public record Network(String name, Span span, DType dtype, int batch, int height, int width, int channels,
                      Accuracy accuracy, List<NetLayer> layers, List<Unit> units) {
    public Network {
        layers = List.copyOf(layers);
        units = List.copyOf(units);
    }

    public record Accuracy(double percent, String source) {}

    /**
     * Consecutive layers that form one block of the model.
     *
     * @param fusable whether a block-fusion execution runs the unit as one kernel (split only where a layer
     *                needs the whole image first, see {@link NetLayer.Kind#SE})
     */
    public record Unit(int index, String label, boolean fusable, int first, int count, Span span) {
        public List<NetLayer> layersOf(Network n) {
            return n.layers().subList(first, first + count);
        }
    }

    /** The number of bytes an activation of {@code channels} channels at h x w takes for the whole batch. */
    public long activationBytes(int h, int w, int channels) {
        return (long) batch * h * w * channels * dtype.bytes;
    }
}
