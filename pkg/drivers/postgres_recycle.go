/*
Copyright 2026 The nebula-resource Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package drivers

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

var _ Recycler = (*Postgres)(nil)

// Recycle implements Recycler. With a template it connects to the
// maintenance database and recreates the member's database:
// DROP DATABASE ... WITH (FORCE) (ending the last holder's sessions), then
// CREATE DATABASE ... TEMPLATE .... A missing template fails before anything
// is dropped. With a script it runs the script in the member's database.
// The slot number is not used: a postgres member is one database.
func (d *Postgres) Recycle(ctx context.Context, m Member, c Credentials, slot int, a RecycleAction) error {
	return recycleIn(ctx, d.Name(), m, c, slot, d.target, func(ctx context.Context, t pgTarget, password string) error {
		if t.user == "" {
			return fmt.Errorf("no user name: set the credentials' username (or user@ in the address)")
		}
		switch {
		case a.PostgresTemplate != "":
			maint := t
			maint.database = a.PostgresMaintenanceDB
			if maint.database == "" {
				maint.database = "postgres"
			}
			return withPGConn(ctx, maint, password, func(conn *pgx.Conn) error {
				return recreateDatabase(ctx, conn, t.database, a.PostgresTemplate)
			})
		case a.PostgresScript != "":
			return withPGConn(ctx, t, password, func(conn *pgx.Conn) error {
				if _, err := conn.Exec(ctx, a.PostgresScript); err != nil {
					return fmt.Errorf("the recycle script failed in database %s: %w", t.database, err)
				}
				return nil
			})
		default:
			return fmt.Errorf("%w: postgres needs a template or a script", ErrNotRecyclable)
		}
	})
}

func withPGConn(ctx context.Context, t pgTarget, password string, f func(*pgx.Conn) error) error {
	cfg, err := t.connConfig(password, recycleTimeout(ctx))
	if err != nil {
		return err
	}
	cfg.RuntimeParams["application_name"] = "nebula-resource-recycle"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("failed to connect to database %s: %w", t.database, err)
	}
	defer func() {
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer ccancel()
		_ = conn.Close(cctx)
	}()
	return f(conn)
}

func recreateDatabase(ctx context.Context, conn *pgx.Conn, database, template string) error {
	if database == template {
		return fmt.Errorf("database %s is its own template", database)
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", template).Scan(&exists); err != nil {
		return fmt.Errorf("failed to look up template database %s: %w", template, err)
	}
	if !exists {
		return fmt.Errorf("template database %s does not exist; database %s was left as it is", template, database)
	}
	db, tmpl := pgx.Identifier{database}.Sanitize(), pgx.Identifier{template}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("failed to drop database %s: %w", database, err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+db+" TEMPLATE "+tmpl); err != nil {
		return fmt.Errorf("failed to create database %s from template %s: %w", database, template, err)
	}
	return nil
}
