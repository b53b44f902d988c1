package tmc.check;

import java.util.List;
import java.util.Optional;

/** Everything one .tm file (with its includes) defines, checked: blocks, their plans, and networks of blocks. */
public record Program(List<TypedBlock> blocks, List<PlanSpec> plans, List<Network> networks) {
    public Program {
        blocks = List.copyOf(blocks);
        plans = List.copyOf(plans);
        networks = List.copyOf(networks);
    }

    public Program(List<TypedBlock> blocks, List<PlanSpec> plans) {
        this(blocks, plans, List.of());
    }

    public Optional<TypedBlock> block(String name) {
        return blocks.stream().filter(b -> b.name().equals(name)).findFirst();
    }

    public Optional<PlanSpec> plan(String name) {
        return plans.stream().filter(p -> p.name().equals(name)).findFirst();
    }

    public List<PlanSpec> plansFor(String block) {
        return plans.stream().filter(p -> p.block().equals(block)).toList();
    }
}
