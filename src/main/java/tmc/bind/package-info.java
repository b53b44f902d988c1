/** Bindings: typed Java classes, generated with JavaPoet, that check and launch one emitted program. */
package tmc.bind;
