// Starts an embedded Neo4j 5 Community DBMS with Bolt, as configured by a neo4j.conf file.
//
// Usage: java -cp CLASSPATH Launcher HOME_DIR CONF_FILE PASSWORD_FILE
// The DBMS stores everything under HOME_DIR. The password for the `neo4j` user is read
// from PASSWORD_FILE and set on start, so authentication is on from the first connection.
// SIGTERM shuts the DBMS down cleanly through the shutdown hook.

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;

public final class Launcher {
    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: Launcher HOME_DIR CONF_FILE PASSWORD_FILE");
            System.exit(2);
        }
        Path home = Path.of(args[0]);
        Path conf = Path.of(args[1]);
        String password = Files.readString(Path.of(args[2]), StandardCharsets.UTF_8).strip();

        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .loadPropertiesFromFile(conf)
                .build();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            dbms.shutdown();
            stopped.countDown();
        }));

        try {
            dbms.database("system").executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED",
                    Map.of("password", password));
        } catch (RuntimeException e) {
            // Raised when the stored password already equals this one: nothing to change.
            if (!String.valueOf(e.getMessage()).contains("cannot be the same")) {
                throw e;
            }
        }
        System.out.println("unfragile-neo4j: ready");
        System.out.flush();
        stopped.await();
    }
}
