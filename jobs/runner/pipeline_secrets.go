package runner

import (
	"fmt"
	"strings"
)

// checkSecrets validates a step's secrets list and keeps it with the line
// of each name: a name must be an environment variable's, given once, and
// neither one Sentinel sets nor one the step's env sets in clear.
func (s *Step) checkSecrets(names []string, line func(j int) int) error {
	seen := map[string]bool{}
	for j, raw := range names {
		name := strings.TrimSpace(raw)
		switch {
		case !envName.MatchString(name):
			return &ConfigError{Line: line(j), Msg: fmt.Sprintf("step %q: secrets: %q is not a valid environment variable name", s.Name, raw)}
		case seen[name]:
			return &ConfigError{Line: line(j), Msg: fmt.Sprintf("step %q: secrets: %s is listed twice", s.Name, name)}
		case strings.HasPrefix(strings.ToUpper(name), "SENTINEL_") || strings.EqualFold(name, "CI"):
			return &ConfigError{Line: line(j), Msg: fmt.Sprintf("step %q: secrets: %s is reserved for what Sentinel sets itself", s.Name, name)}
		}
		if _, clash := s.Env[name]; clash {
			return &ConfigError{Line: line(j), Msg: fmt.Sprintf("step %q: %s is both in env and in secrets; keep it in secrets only", s.Name, name)}
		}
		seen[name] = true
		s.Secrets = append(s.Secrets, name)
		s.SecretLines = append(s.SecretLines, line(j))
	}
	return nil
}

// UnknownSecret is the configuration failure of a step naming a secret
// that is not set for the repository or its installation.
func (s Step) UnknownSecret(j int, repository string) *ConfigError {
	return &ConfigError{Line: s.SecretLines[j], Msg: fmt.Sprintf(
		"step %q: secret %s is not set for %s or its installation (set it with: sentinel secret set %s %s)",
		s.Name, s.Secrets[j], repository, repository, s.Secrets[j])}
}
