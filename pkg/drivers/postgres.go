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
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres checks a PostgreSQL member by connecting with pgx and running
// SELECT 1.
//
// Address: host[:port] (port 5432) or postgres://[user@]host[:port][/database][?sslmode=...]
// (scheme postgres or postgresql; a password in the address is rejected).
// Attributes:
//   - database: the database to connect to (default: the URL's path, else "postgres").
//   - sslmode: disable (default) | allow | prefer | require | verify-ca | verify-full.
//   - sslrootcert: path of a CA bundle for verify-ca / verify-full.
//
// The user is the credentials' username, else the address's user; one is
// required. Environment variables (PGPASSWORD, ...) never supply the password.
type Postgres struct{}

// NewPostgres returns the postgres driver.
func NewPostgres() *Postgres { return &Postgres{} }

// Name implements Driver.
func (*Postgres) Name() string { return "postgres" }

var pgSchemes, pgPorts = []string{"postgres", "postgresql"}, map[string]int{"postgres": 5432, "postgresql": 5432}

var pgSSLModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

type pgTarget struct {
	target
	user, database, sslmode, sslrootcert string
}

func (d *Postgres) target(m Member, c Credentials) (pgTarget, error) {
	t, err := parseTarget(d.Name(), m.Address, pgSchemes, pgPorts)
	if err != nil {
		return pgTarget{}, err
	}
	pt := pgTarget{target: t, user: c.Username}
	if pt.user == "" {
		pt.user = t.User
	}
	pt.database = strings.TrimPrefix(t.Path, "/")
	pt.database = m.Attr("database", pt.database)
	if pt.database == "" {
		pt.database = "postgres"
	}
	pt.sslmode = m.Attr("sslmode", t.Query.Get("sslmode"))
	if pt.sslmode == "" {
		pt.sslmode = "disable"
	}
	valid := false
	for _, s := range pgSSLModes {
		valid = valid || s == pt.sslmode
	}
	if !valid {
		return pgTarget{}, fmt.Errorf("%w: %s: sslmode %q is not one of %s", ErrInvalidMember, d.Name(), pt.sslmode, strings.Join(pgSSLModes, ", "))
	}
	pt.sslrootcert = m.Attr("sslrootcert", t.Query.Get("sslrootcert"))
	return pt, nil
}

// connConfig builds the pgx configuration. The password is set on the
// parsed config, never written into a connection string.
func (t pgTarget) connConfig(password string, timeout time.Duration) (*pgx.ConnConfig, error) {
	kv := []string{
		"host=" + pgQuote(t.Host),
		"port=" + strconv.Itoa(t.Port),
		"user=" + pgQuote(t.user),
		"dbname=" + pgQuote(t.database),
		"sslmode=" + pgQuote(t.sslmode),
		"application_name=nebula-resource-check",
	}
	if t.sslrootcert != "" {
		kv = append(kv, "sslrootcert="+pgQuote(t.sslrootcert))
	}
	cfg, err := pgx.ParseConfig(strings.Join(kv, " "))
	if err != nil {
		return nil, fmt.Errorf("%w: postgres: %v", ErrInvalidMember, err)
	}
	cfg.Password = password
	cfg.ConnectTimeout = timeout
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	cfg.StatementCacheCapacity = 0
	cfg.DescriptionCacheCapacity = 0
	return cfg, nil
}

// pgQuote quotes a keyword/value connection string value.
func pgQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// Check implements Driver: connect, SELECT 1, close.
func (d *Postgres) Check(ctx context.Context, m Member, c Credentials) error {
	return check(ctx, d.Name(), m, c, d.target, d.selectOne)
}

func (d *Postgres) selectOne(ctx context.Context, t pgTarget, _ Credentials, run checkRun) error {
	if t.user == "" {
		return run.fail(fmt.Errorf("%w: postgres: no user name: set the credentials' username (or user@ in the address)", ErrInvalidMember))
	}
	cfg, err := t.connConfig(run.password, remaining(ctx))
	if err != nil {
		return run.fail(err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return run.fail(err)
	}
	defer func() {
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer ccancel()
		_ = conn.Close(cctx)
	}()
	var one int
	err = conn.QueryRow(ctx, "SELECT 1").Scan(&one)
	return run.answered(err, one == 1, "SELECT 1 returned %d", one)
}

// Describe implements Driver. The URI is
// postgres://user[:password]@host:port/database?sslmode=...; Attributes gain
// database and sslmode.
func (d *Postgres) Describe(m Member, c Credentials, revealSecrets bool) (Endpoint, error) {
	t, err := d.target(m, c)
	if err != nil {
		return Endpoint{}, err
	}
	q := url.Values{"sslmode": {t.sslmode}}
	if t.sslrootcert != "" {
		q.Set("sslrootcert", t.sslrootcert)
	}
	creds := Credentials{Username: t.user, Password: c.Password}
	attrs := cloneAttrs(m.Attributes)
	attrs["database"] = t.database
	attrs["sslmode"] = t.sslmode
	return Endpoint{
		Host:       t.Host,
		Port:       t.Port,
		URI:        buildURI("postgres", t.target, creds, revealSecrets, "/"+t.database, q),
		Attributes: attrs,
	}, nil
}
