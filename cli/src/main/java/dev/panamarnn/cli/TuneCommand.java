package dev.panamarnn.cli;

import dev.panamarnn.Tuning;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code panama-rnn tune}: measures which backend's products are fastest per step shape here, and keeps the result. */
@Command(name = "tune", mixinStandardHelpOptions = true,
        description = "Measure which backend computes each step shape fastest on this machine (5-10 s) and keep the result "
                + "in the tuning file, which the library reads to choose its default backend.")
final class TuneCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--if-needed", description = "Measure only when this machine (CPU, JVM, libraries) has no measurement yet.")
    boolean ifNeeded;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        String[] why = new String[1];
        Tuning.Measured m = Tuning.load(why);
        if (m != null && ifNeeded) {
            out.println("already measured on this machine (" + m.file() + "): " + m.report());
            return 0;
        }
        out.println("measuring this machine's products per step shape (5-10 s)...");
        out.flush();
        m = Tuning.measure();
        out.println(m.report());
        out.println("kept in " + m.file() + "; the default backend now follows it");
        return 0;
    }

    /** Before a command run by the launcher: measures once when this machine has no measurement and there is a choice to make. */
    static void ifNeeded(PrintWriter err) {
        String[] why = new String[1];
        if (Tuning.load(why) != null || Tuning.file() == null) return;
        if (Tuning.candidates().isEmpty()) return; // nothing to choose between
        err.println("panama-rnn: measuring which backend is fastest for each step shape on this machine, once (5-10 s; "
                + "scripts/panama-rnn tune measures again)");
        err.flush();
        try {
            Tuning.measure();
        } catch (Exception e) {
            err.println("panama-rnn: warning: could not keep the measurement: " + Errors.oneLine(String.valueOf(e.getMessage())));
        }
    }
}
