package dev.panamarnn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class VersionTest {

    @Test
    void versionIsThePomsWithCommitAndBuildDate() {
        String pom = System.getProperty("panama.rnn.pom.version");
        assertNotNull(pom, "surefire passes the pom's version as panama.rnn.pom.version");
        CliRun r = CliRun.of("--version");
        assertEquals(0, r.code(), r.err());
        String line = r.out().strip();
        // "panama-rnn 0.1.0-SNAPSHOT (commit abc1234, built 2026-12-02)"; the commit is "unknown" outside scripts/.
        String expected = "panama-rnn \\Q" + pom + "\\E \\(commit (?:[0-9a-f]{7,40}(?:-dirty)?|unknown), built \\d{4}-\\d{2}-\\d{2}\\)";
        assertTrue(line.matches(expected), line);
        assertFalse(line.contains("development build"), line);
    }
}
