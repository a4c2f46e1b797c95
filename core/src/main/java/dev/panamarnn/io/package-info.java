/**
 * Files: {@link dev.panamarnn.io.SafeTensors} reads a safetensors file (memory-mapped, validated whole at
 * open) and {@link dev.panamarnn.io.SafeTensorsWriter} writes one atomically; {@link dev.panamarnn.io.OutputFile}
 * holds the rules for replacing a file safely.
 */
package dev.panamarnn.io;
