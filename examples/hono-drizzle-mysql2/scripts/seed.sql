create table if not exists notes (
  id int auto_increment primary key,
  title varchar(200) not null,
  body text not null,
  done boolean not null default false,
  created_at timestamp not null default current_timestamp
);
truncate table notes;
insert into notes (title, body, done) values
  ('Create the connection inside the handler', 'The middleware does it: one per request, opened on the first query.', true),
  ('Send nothing Hyperdrive refuses', 'Every Drizzle query goes out as a text-protocol query: no COM_STMT_PREPARE.', true),
  ('Stream a response that still queries', 'The connection stays open until the body has been sent.', true),
  ('Deploy', 'wrangler hyperdrive create, then wrangler deploy.', false);
