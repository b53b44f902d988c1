/** Plan: choose tiles, chunks, warps and placements under a target's budgets, and lower them to the IR. */
package tmc.plan;
