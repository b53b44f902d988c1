include "include_part_with_error.tm"
plan q for B { warps 99 }
