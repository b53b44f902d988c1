/** GPU targets as data: one JSON file per target, each number with the source it comes from. */
package tmc.target;
