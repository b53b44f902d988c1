/** Analysis of whole networks: waterline, computational efficiency and the efficiency gap, as tables and plots. */
package tmc.analysis;
