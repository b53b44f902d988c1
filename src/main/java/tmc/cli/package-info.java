/** The tmc command line: subcommands, option parsing, exit codes, rendering of diagnostics and reports. */
package tmc.cli;
