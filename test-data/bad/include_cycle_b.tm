include "include_cycle_a.tm"
plan q for B { separate }
