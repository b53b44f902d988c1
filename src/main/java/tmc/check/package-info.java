/** Check: names, shapes, dtypes and plans of a parsed module, producing typed blocks and plan specs. */
package tmc.check;
