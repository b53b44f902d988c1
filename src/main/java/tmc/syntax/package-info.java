/** Syntax: .tm text to an abstract syntax tree of records, through the ANTLR grammar in grammar/. */
package tmc.syntax;
