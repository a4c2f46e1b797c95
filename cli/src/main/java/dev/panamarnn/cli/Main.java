package dev.panamarnn.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code scripts/panama-rnn}: the command-line entry point. It lives in the {@code cli} module, the one
 * place where {@code core} and the OpenBLAS backend ({@code native}) are on one class path.
 *
 * <p>Errors print one line, {@code panama-rnn: error: …}, and exit 1; {@code --stacktrace} (anywhere on
 * the command line) adds the stack trace.
 */
@Command(name = "panama-rnn", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Recurrent neural network inference on the CPU (Vector API + OpenBLAS through FFM).",
        subcommands = {DemoCommand.class, InfoCommand.class, ForwardCommand.class, ClassifyCommand.class, GenerateCommand.class,
                TranslateCommand.class, CommandLine.HelpCommand.class})
public final class Main {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Held so the configuration is not collected with a weakly referenced logger. */
    private static final java.util.logging.Logger LIBRARY_LOG = java.util.logging.Logger.getLogger("dev.panamarnn");

    static {
        // The library's log lines become one line each ("panama-rnn: ..."); only warnings show by default
        // (for example that OpenBLAS is missing), -Dpanama.rnn.log=INFO shows the backend choice too.
        java.util.logging.Handler h = new java.util.logging.StreamHandler(System.err, new java.util.logging.Formatter() {
            @Override
            public String format(java.util.logging.LogRecord r) {
                String m = r.getMessage();
                return (m.startsWith("panama-rnn:") ? m : "panama-rnn: " + m) + System.lineSeparator();
            }
        }) {
            @Override
            public synchronized void publish(java.util.logging.LogRecord r) {
                super.publish(r);
                flush();
            }
        };
        LIBRARY_LOG.setUseParentHandlers(false);
        LIBRARY_LOG.addHandler(h);
        LIBRARY_LOG.setLevel(java.util.logging.Level.parse(System.getProperty("panama.rnn.log", "WARNING")));
    }

    /** Runs the command line and returns the exit code (tests call this). */
    public static int run(String... args) {
        boolean trace = java.util.Arrays.asList(args).contains("--stacktrace");
        String[] rest = java.util.Arrays.stream(args).filter(a -> !a.equals("--stacktrace")).toArray(String[]::new);
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, line, parsed) -> {
            line.getErr().println("panama-rnn: error: " + message(ex));
            if (trace) ex.printStackTrace(line.getErr());
            return 1;
        });
        cl.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println("panama-rnn: error: " + ex.getMessage());
            ex.getCommandLine().getErr().println("Try 'panama-rnn " + (ex.getCommandLine().getCommandName().equals("panama-rnn") ? "" : ex.getCommandLine().getCommandName() + " ") + "--help'.");
            return 2;
        });
        return cl.execute(rest);
    }

    private static String message(Throwable ex) {
        String m = ex.getMessage();
        return m == null || m.isBlank() ? ex.getClass().getSimpleName() : m;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"panama-rnn " + (v == null ? "(development build)" : v)};
        }
    }
}
