/** Diagnostics: source positions, errors as values, and their rendering with a caret. */
package tmc.diag;
