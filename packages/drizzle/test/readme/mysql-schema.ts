// The MySQL schema the README's mysql2 snippet imports.
import { mysqlTable, serial, varchar } from "drizzle-orm/mysql-core";

export const users = mysqlTable("users", { id: serial("id").primaryKey(), name: varchar("name", { length: 64 }) });
