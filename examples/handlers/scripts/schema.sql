create table if not exists events (id serial primary key, kind text not null, at timestamptz not null default now());
create table if not exists counters (name text primary key, hits integer not null default 0);
create table if not exists users (id serial primary key, email text not null unique, welcomed boolean not null default false);
